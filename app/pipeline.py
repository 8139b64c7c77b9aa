"""Statements sent to PostgreSQL together, in one round trip (psycopg's pipeline mode), on the
session's connection and inside its transaction.

They still run one after another, each with its own snapshot: a statement queued behind one that
waits for a lock starts, and takes its snapshot, only once that lock is granted. Used where a
request would otherwise wait for an answer it does not need before sending the next statement:
a lock and the statement it guards (`locks.hold_then`), an event's last statement and its COMMIT
(the earning engine), an earn and its COMMIT (`points.service.earn`). A single statement is sent
as it is, which spares a hot path SQLAlchemy's execution around it (the event's record-and-earn
statement). These statements bypass SQLAlchemy's execution (and its cursor events).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import namedtuple_row
from sqlalchemy import exc
from sqlalchemy.sql.elements import TextClause

from app.extensions import db

_compiled: dict[TextClause, str] = {}


def send(statements: Sequence[tuple[TextClause, dict[str, Any]]], *, commit: bool = False, all_rows: bool = False):
    """Run `statements` (text clauses with plain-typed parameters: numbers, strings, dates, None)
    in order and return the last one's first row (it must return rows: a SELECT or RETURNING), as
    a named tuple, or None when it returned none; with `all_rows`, the list of all its rows.

    With `commit`, the transaction's COMMIT goes in the same round trip and the session's
    transaction ends with it (its after-commit hooks run as usual). A single statement that is
    all the transaction does runs in autocommit instead: one statement is atomic by itself, and
    the server is spared the BEGIN and the COMMIT."""
    session = db.session
    session.flush()  # as SQLAlchemy's autoflush would: the statements see what the session holds
    connection = session.connection()
    raw = connection.connection.driver_connection
    sql = [_sql(statement, connection.dialect) for statement, _ in statements]
    try:
        with raw.cursor(row_factory=namedtuple_row) as cursor:
            if commit and len(sql) == 1 and raw.info.transaction_status == TransactionStatus.IDLE:
                # the statement is the whole transaction: it commits by itself, with no BEGIN or COMMIT
                raw.autocommit = True
                try:
                    cursor.execute(sql[0], statements[0][1])
                finally:
                    try:
                        raw.autocommit = False
                    except psycopg.Error:  # the connection broke: never hand it out again in autocommit
                        connection.invalidate()
            elif len(sql) == 1 and not commit:
                cursor.execute(sql[0], statements[0][1])
            else:
                # Nothing inside the block waits for an answer: leaving it sends one Sync and reads
                # every result (asking for a row inside, or `raw.commit()`, would cost a round trip more).
                with raw.pipeline():
                    for text, (_, params) in zip(sql, statements):
                        cursor.execute(text, params)
                    if commit:
                        raw.execute("COMMIT")  # skipped by the server if a statement before it failed
            row = cursor.fetchall() if all_rows else cursor.fetchone()  # the last statement's result
    except psycopg.Error as error:  # as SQLAlchemy would raise it, so the usual handlers apply
        raise exc.DBAPIError.instance(sql[-1], statements[-1][1], error, psycopg.Error) from error
    if commit:
        session.commit()  # the server has committed: this ends the session's side (psycopg sends nothing)
    return row


def _sql(statement: TextClause, dialect) -> str:
    sql = _compiled.get(statement)
    if sql is None:
        sql = _compiled[statement] = str(statement.compile(dialect=dialect))
    return sql
