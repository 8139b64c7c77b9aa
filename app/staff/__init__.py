"""Stores and their staff: accounts, roles, which stores each person works at."""
