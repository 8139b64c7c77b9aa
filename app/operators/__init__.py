"""Operators: the brand's people who run the programme (roles admin, operator, analyst, store manager)."""
