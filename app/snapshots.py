"""Process-wide snapshots of configuration read on every request and changed rarely: earn rules,
campaigns, check-in settings, level definitions, the programme.

A snapshot is loaded on first use in a short session of its own (so its rows are detached copies
that no request can change or expire), on the request's connection, and kept for `CONFIG_CACHE_SECONDS` (2 s by default). A
commit that changed a watched model through the ORM (an operator's edit, a seed, a test) drops the
snapshots built from it at once in this process; other processes pick the change up within the TTL.
Nothing that must be exact under concurrency (budgets, stock, balances) is ever read from here.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")

_values: dict[tuple[int, str], tuple[float, Any]] = {}
_loading: dict[tuple[int, str], threading.Lock] = {}
_watched: dict[type, set[str]] = {}
_guard = threading.Lock()
ttl_seconds = 2.0


def get(name: str, loader: Callable[[Session], T]) -> T:
    """The snapshot `name`, loaded by `loader(session)` when missing or older than the TTL.

    The loader reads through the request's own connection (a request never needs a second one, so
    a busy pool cannot deadlock on a reload). While one thread reloads, the others keep using the
    value they have; only the very first load makes them wait. What a transaction that changed
    configuration (and has not committed) reads is used by it but never kept for others."""
    from app.extensions import db

    key = (id(db.engine), name)  # one process may serve apps on different databases (tests, benchmarks)
    held = _values.get(key)
    if held is not None and time.monotonic() - held[0] < ttl_seconds:
        return held[1]
    lock = _loading.setdefault(key, threading.Lock())
    if not lock.acquire(blocking=held is None):
        return held[1]  # another thread is reloading it
    try:
        held = _values.get(key)
        if held is not None and time.monotonic() - held[0] < ttl_seconds:
            return held[1]
        started = time.monotonic()
        with Session(bind=db.session.connection(), expire_on_commit=False) as session:
            value = loader(session)  # closing detaches the rows, loaded as they are
        if not db.session.info.get("snapshots_changed"):
            _values[key] = (started, value)
        return value
    finally:
        lock.release()


def invalidate(*names: str) -> None:
    """Drop the named snapshots (all of them when no name is given)."""
    with _guard:
        for key in [key for key in _values if not names or key[1] in names]:
            del _values[key]


def watch(model: type, *names: str) -> None:
    """A committed ORM change to any `model` row drops the snapshots `names`."""
    _watched.setdefault(model, set()).update(names)


def touched(*names: str) -> None:
    """For writes outside the ORM's unit of work (Core inserts): drop `names` when this request's
    transaction commits."""
    from app.extensions import db

    db.session.info.setdefault("snapshots_changed", set()).update(names)


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _flush_context) -> None:
    if not _watched:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        names = _watched.get(type(obj))
        if names:
            session.info.setdefault("snapshots_changed", set()).update(names)


@event.listens_for(Session, "after_commit")
def _drop_changed(session: Session) -> None:
    names = session.info.pop("snapshots_changed", None)
    if names:
        invalidate(*names)


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop("snapshots_changed", None)
