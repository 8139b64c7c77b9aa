"""The programme's own settings: the points' display name, their money value, their expiry policy."""
