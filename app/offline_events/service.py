"""Creating offline events and signing members in. The sign-in code is random (not guessable from
the event id) and is what the QR code on the venue's screen carries, as `oe=<code>`."""
from __future__ import annotations

import io
import secrets
from typing import Any

import qrcode
from flask import current_app
from sqlalchemy import select

from app import clock, signals
from app.earning import engine
from app.errors import Conflict, NotFound, Unprocessable
from app.extensions import db
from app.offline_events.models import OfflineEvent

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud at a venue without confusion


def create(fields: dict[str, Any]) -> OfflineEvent:
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    event = OfflineEvent(code=code, **fields)
    db.session.add(event)
    db.session.commit()
    return event


def qr_png(event_id: int) -> bytes:
    event = db.session.get(OfflineEvent, event_id)
    if event is None:
        raise NotFound("活动不存在", code="unknown_offline_event")
    buffer = io.BytesIO()
    qrcode.make(f"oe={event.code}", box_size=10, border=2).save(buffer, format="PNG")
    return buffer.getvalue()


def sign_in(member_id: int, code: str) -> dict:
    """Sign a member in (inside the event's window), earning the participation reward once."""
    event = db.session.scalar(select(OfflineEvent).where(OfflineEvent.code == code.upper(), OfflineEvent.active.is_(True)))
    if event is None:
        raise NotFound("签到码无效", code="unknown_signin_code")
    at = clock.now()
    if not event.starts_at <= at < event.ends_at:
        raise Unprocessable("不在活动签到时间内", code="outside_signin_window")
    result = engine.process(engine.Event("offline_event_signin", member_id, f"offline:{event.id}:{member_id}",
                                         attributes={"points": event.reward_points, "growth": event.reward_growth,
                                                     "offline_event_id": event.id}))
    if result.duplicate:
        raise Conflict("你已签到过该活动", code="already_signed_in")
    signals.offline_event_attended.send(current_app._get_current_object(), member_id=member_id,
                                        offline_event_id=event.id)
    return {"event": event.title, "points": result.points, "growth": result.growth}
