"""Referral posters: templates, QR and mini-program codes, rendering, cache."""
