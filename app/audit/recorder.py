"""Every change an operator makes is written down: who, what, before and after.

Rather than asking each of the many operator endpoints to remember to log, the recorder watches the
session: once a request is known to come from an operator (`act_as`, called by the operator checks
of the API and the console), every row the request's flushes create, change or delete gets an
`AuditEntry` in the same transaction, with the changed fields before and after. A change that rolls
back leaves no audit row; a committed one cannot escape it. Secrets (password hashes, integration
secrets, tokens) are never copied into the log.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry

_SECRET_MARKERS = ("password", "secret", "token", "aes_key", "webhook_key")
_NOT_AUDITED = {"audit_entries", "outbox_jobs"}


def act_as(operator_id: int, action: str | None = None) -> None:
    """From now on in this request, changes are the work of `operator_id`."""
    if not has_request_context():
        return
    g.audit_actor = {
        "operator_id": operator_id,
        "request_id": getattr(g, "audit_request_id", None) or secrets.token_hex(8),
        "action": (action or f"{request.method} {request.path}")[:120],
        "ip": (request.headers.get("X-Forwarded-For", request.remote_addr) or "")[:64] or None,
    }
    g.audit_request_id = g.audit_actor["request_id"]


def note(table: str, target_id: Any, change: str, *, before: dict | None = None, after: dict | None = None) -> None:
    """Record a change the session cannot see (one written in SQL), in the current transaction."""
    actor = _actor()
    if actor is not None:
        from app.extensions import db

        db.session.add(AuditEntry(operator_id=actor["operator_id"], request_id=actor["request_id"],
                                  action=actor["action"], target_table=table, target_id=str(target_id)[:64],
                                  change=change, before=_json(before), after=_json(after), ip=actor["ip"]))


def _actor() -> dict | None:
    return g.get("audit_actor") if has_request_context() else None


def _json(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return value


def _shown(key: str, value: Any) -> Any:
    return "***" if any(marker in key for marker in _SECRET_MARKERS) and value is not None else _json(value)


def _identity(state) -> str:
    key = state.identity or tuple(getattr(state.obj(), c.key) for c in state.mapper.primary_key)
    return ",".join(str(part) for part in key)


def _columns(state) -> list:
    return [attr for attr in state.mapper.column_attrs]


def _snapshot(state) -> dict:
    obj = state.obj()
    return {attr.key: _shown(attr.key, getattr(obj, attr.key, None)) for attr in _columns(state)}


def _changes(state) -> tuple[dict, dict]:
    before, after = {}, {}
    for attr in _columns(state):
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        before[attr.key], after[attr.key] = _shown(attr.key, old), _shown(attr.key, new)
    return before, after


def _record(session: Session, flush_context, instances) -> None:
    actor = _actor()
    if actor is None:
        return
    pending: list[tuple[Any, str, dict | None, dict | None]] = []
    for obj in session.dirty:
        state = inspect(obj)
        if state.mapper.local_table.name in _NOT_AUDITED or not session.is_modified(obj):
            continue
        before, after = _changes(state)
        if after:
            pending.append((state, "update", before, after))
    for obj in session.deleted:
        state = inspect(obj)
        if state.mapper.local_table.name not in _NOT_AUDITED:
            pending.append((state, "delete", _snapshot(state), None))
    # the objects themselves, not their states: the session holds new objects weakly once flushed
    new = [obj for obj in session.new if inspect(obj).mapper.local_table.name not in _NOT_AUDITED]
    for state, change, before, after in pending:
        session.add(_entry(actor, state, change, before, after, _identity(state)))
    if new:
        session.info.setdefault("audit_new", []).extend(new)


def _record_created(session: Session, flush_context) -> None:
    """New rows get their ids only in the flush: their audit rows are added right after it (and
    flushed by the next flush, which a commit always runs, in the same transaction)."""
    created = session.info.pop("audit_new", None)
    actor = _actor()
    if not created or actor is None:
        return
    for obj in created:
        state = inspect(obj)
        session.add(_entry(actor, state, "create", None, _snapshot(state), _identity(state)))


def _entry(actor: dict, state, change: str, before: dict | None, after: dict | None, target_id: str) -> AuditEntry:
    return AuditEntry(operator_id=actor["operator_id"], request_id=actor["request_id"], action=actor["action"],
                      target_table=state.mapper.local_table.name, target_id=target_id[:64], change=change,
                      before=before, after=after, ip=actor["ip"])


def _forget(session: Session) -> None:
    session.info.pop("audit_new", None)


def install() -> None:
    """Watch every session (called once by the app factory; installing twice is harmless)."""
    for name, listener in (("before_flush", _record), ("after_flush_postexec", _record_created),
                           ("after_rollback", _forget)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
