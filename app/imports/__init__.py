"""Imports from another system: members and their opening balances, from CSV files."""
