"""The one clock. Everything that needs "now" asks here, so tests can move time.

`now()` is timezone-aware UTC. Business days (check-in, caps, birthdays) are dates in the
programme's time zone: `today()` and `business_date(ts)`.
"""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

_lock = threading.Lock()
_frozen: datetime | None = None
_zone = ZoneInfo("Asia/Shanghai")


def set_zone(name: str) -> None:
    global _zone
    _zone = ZoneInfo(name)


def zone() -> ZoneInfo:
    return _zone


def now() -> datetime:
    frozen = _frozen
    return frozen if frozen is not None else datetime.now(timezone.utc)


def today() -> date:
    return business_date(now())


def business_date(ts: datetime) -> date:
    return ts.astimezone(_zone).date()


def local_midnight(day: date) -> datetime:
    """The UTC instant at which a business day starts."""
    return datetime(day.year, day.month, day.day, tzinfo=_zone).astimezone(timezone.utc)


def freeze(at: datetime) -> None:
    """Stop the clock at `at` (tests and time-travel tools only)."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    with _lock:
        _frozen = at.astimezone(timezone.utc)


def advance(delta: timedelta) -> datetime:
    global _frozen
    with _lock:
        _frozen = (_frozen or datetime.now(timezone.utc)) + delta
        return _frozen


def unfreeze() -> None:
    global _frozen
    with _lock:
        _frozen = None
