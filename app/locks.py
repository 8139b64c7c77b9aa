"""Transaction-scoped named locks (PostgreSQL advisory locks), for rules that span rows:
caps per member and event type, a member's check-ins, limits per member and item.

A lock already held by the current transaction is not asked for again, so a feature may take the
lock a service it calls will want (check-in takes the check-in events' lock) and save a round trip.
`hold_then` sends a lock and the statement that must run under it in one round trip.
"""
from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import exc, text
from sqlalchemy.sql.elements import TextClause

from app.extensions import db

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")
_compiled: dict[TextClause, str] = {}


def hold(name: str) -> None:
    """Wait for and hold the lock `name` until the current transaction ends."""
    if _holding(name):
        return
    db.session.execute(_LOCK, {"name": name})
    _note(name)


def hold_then(name: str, statement: TextClause, params: dict[str, Any]):
    """Hold the lock `name`, then run `statement` (plain-typed parameters) and return its first row.

    Both go to the server in one round trip (psycopg's pipeline mode, with the transaction's BEGIN
    when it is the first thing the transaction does), yet run as two statements, in order: the
    statement starts, and takes its snapshot, only once the lock is granted, so it sees everything
    committed by whoever held the lock before. Returns a named tuple, or None for no row."""
    if _holding(name):
        return db.session.execute(statement, params).first()
    connection = db.session.connection()
    sql = _compiled.get(statement)
    if sql is None:
        sql = _compiled[statement] = str(statement.compile(dialect=connection.dialect))
    raw = connection.connection.driver_connection
    try:
        with raw.pipeline(), raw.cursor(row_factory=namedtuple_row) as cursor:
            cursor.execute(_LOCK_SQL, {"name": name})
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except psycopg.Error as error:  # as SQLAlchemy would raise it, so the usual handlers apply
        raise exc.DBAPIError.instance(sql, params, error, psycopg.Error) from error
    _note(name)
    return row


_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(%(name)s, 0))"


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
