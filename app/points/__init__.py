"""The value account: an append-only ledger of points and growth value, with expiring lots."""
