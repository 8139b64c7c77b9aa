"""Levels and rights: growth-value tiers with validity, expiry actions, multipliers and notices."""
