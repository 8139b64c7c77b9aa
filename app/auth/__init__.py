"""Bearer tokens for members (and, later, staff): signed, typed, expiring."""
