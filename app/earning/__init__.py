"""Earning: rules for events, the one entry point that applies them, campaigns, integrations."""
