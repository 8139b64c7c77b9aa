"""Execution rewards (register, bind phone, complete the profile) from the core's signals.

The core sends a signal after its own transaction commits; the reward is a separate transaction,
idempotent per member (the event id is derived from the member), so a retry never pays twice and a
failure here never undoes the member's login or binding.
"""
from __future__ import annotations

import logging

from app import signals
from app.earning import engine
from app.extensions import db

log = logging.getLogger(__name__)


def _reward(event_type: str, member_id: int) -> None:
    try:
        engine.process(engine.Event(event_type, member_id, f"{event_type}:{member_id}"))
    except Exception:  # a reward must never break the action that earned it
        db.session.rollback()
        log.exception("could not process %s for member %s", event_type, member_id)


def on_registered(sender, member_id: int, **_) -> None:
    _reward("register", member_id)


def on_phone_bound(sender, member_id: int, **_) -> None:
    _reward("phone_bound", member_id)


def on_profile_updated(sender, member_id: int, complete: bool, **_) -> None:
    if complete:
        _reward("profile_completed", member_id)


def connect() -> None:
    signals.member_registered.connect(on_registered)
    signals.member_phone_bound.connect(on_phone_bound)
    signals.member_profile_updated.connect(on_profile_updated)
