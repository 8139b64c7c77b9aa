"""Transaction-scoped named locks (PostgreSQL advisory locks), for rules that span rows:
caps per member and rule, a member's check-ins, limits per member and item."""
from __future__ import annotations

from sqlalchemy import text

from app.extensions import db

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


def hold(name: str) -> None:
    """Wait for and hold the lock `name` until the current transaction ends."""
    db.session.execute(_LOCK, {"name": name})
