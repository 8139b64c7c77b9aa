"""The audit log: every change an operator makes, who, what, before and after (see `recorder`)."""
