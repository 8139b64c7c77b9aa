"""Transaction-scoped named locks (PostgreSQL advisory locks), for rules that span rows:
caps per member and event type, a member's check-ins, limits per member and item.

A lock already held by the current transaction is not asked for again, so a feature may take the
lock a service it calls will want (check-in takes the check-in events' lock) and save a round trip.
`hold_then` sends a lock and the statement that must run under it in one round trip.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.sql.elements import TextClause

from app import pipeline
from app.extensions import db

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


def hold(name: str) -> None:
    """Wait for and hold the lock `name` until the current transaction ends."""
    if _holding(name):
        return
    db.session.execute(_LOCK, {"name": name})
    _note(name)


def hold_then(name: str, statement: TextClause, params: dict[str, Any]):
    """Hold the lock `name`, then run `statement` (plain-typed parameters) and return its first row.

    Both go to the server in one round trip (`app.pipeline`, with the transaction's BEGIN when it
    is the first thing the transaction does), yet run as two statements, in order: the statement
    starts, and takes its snapshot, only once the lock is granted, so it sees everything committed
    by whoever held the lock before. Returns a named tuple, or None for no row."""
    if _holding(name):
        return db.session.execute(statement, params).first()
    row = pipeline.send([(_LOCK, {"name": name}), (statement, params)])
    _note(name)
    return row


def _holding(name: str) -> bool:
    held = db.session.info.get("held_locks")
    return held is not None and held[0] is db.session().get_transaction() and name in held[1]


def _note(name: str) -> None:
    held = db.session.info.get("held_locks")
    transaction = db.session().get_transaction()
    if held is None or held[0] is not transaction:
        held = db.session.info["held_locks"] = (transaction, set())
    held[1].add(name)


def earning(event_type: str, member_id: int) -> str:
    """The lock under which a member's events of one type are counted against caps."""
    return f"earn:{event_type}:{member_id}"
