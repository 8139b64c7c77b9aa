"""Member segments: tags (by hand or by rule) and RFM scores, for operators and for targeting."""
