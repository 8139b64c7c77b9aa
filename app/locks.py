"""Transaction-scoped named locks (PostgreSQL advisory locks), for rules that span rows:
caps per member and event type, a member's check-ins, limits per member and item.

A lock already held by the current transaction is not asked for again, so a feature may take the
lock a service it calls will want (check-in takes the check-in events' lock) and save a round trip.
"""
from __future__ import annotations

from sqlalchemy import text

from app.extensions import db

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


def hold(name: str) -> None:
    """Wait for and hold the lock `name` until the current transaction ends."""
    held = db.session.info.get("held_locks")
    transaction = db.session().get_transaction()
    if held is not None and held[0] is transaction and name in held[1]:
        return
    db.session.execute(_LOCK, {"name": name})
    transaction = db.session().get_transaction()
    if held is None or held[0] is not transaction:
        held = db.session.info["held_locks"] = (transaction, set())
    held[1].add(name)


def earning(event_type: str, member_id: int) -> str:
    """The lock under which a member's events of one type are counted against caps."""
    return f"earn:{event_type}:{member_id}"
