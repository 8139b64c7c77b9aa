"""Pushes on events, each a rule operators switch on and off: welcome on registration, a
congratulation on level up (points expiring reminders run daily, see `campaigns`). An automation
limited to a segment pushes only to the members in it when the push is sent.

The core's signals arrive after the member's transaction commits (registration) or inside it (a
promotion); either way the push is asked for through the outbox, so a request never waits for
WeChat and nothing is lost when Redis is down.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from app import clock, signals
from app.extensions import db
from app.levels import service as levels
from app.members.models import Member
from app.points.models import PointAccount
from app.segments import service as segments
from tasks import delivery, outbox
from tasks.models import Automation, SendLog

log = logging.getLogger(__name__)


def switched_on(code: str) -> Automation | None:
    """The automation if it is switched on."""
    row = db.session.get(Automation, code)
    return row if row is not None and row.active else None


def _on(code: str, member_id: int) -> bool:
    """Whether the automation is switched on for this member (and the member in its segment, if any)."""
    row = switched_on(code)
    return row is not None and (row.segment is None or segments.is_member(member_id, row.segment))


def _send_now(kind: str, template_code: str, member_id: int, variables: dict) -> None:
    """Add the member to today's run of this automation and send their message in this job."""
    run_id = delivery.start_run(kind, clock.today().isoformat(), template_code, [(member_id, variables)])
    ids = list(db.session.scalars(select(SendLog.id).where(SendLog.run_id == run_id, SendLog.member_id == member_id,
                                                           SendLog.status == "pending")))
    db.session.rollback()
    if ids:
        delivery.send_batch(run_id, ids)


def welcome(member_id: int) -> None:
    if not _on("welcome", member_id):
        return
    member = db.session.get(Member, member_id)
    if member is None or not member.is_active:
        return
    account = db.session.get(PointAccount, member_id)
    _send_now("welcome", "welcome", member_id, {"nickname": member.nickname or "会员",
                                                "points": account.available if account else 0})


def level_up(member_id: int, level_code: str) -> None:
    if not _on("level_up", member_id):
        return
    member = db.session.get(Member, member_id)
    level = levels.by_code(level_code)
    if member is None or not member.is_active or level is None:
        return
    _send_now("level_up", "level_up", member_id, {"nickname": member.nickname or "会员", "level": level.name})


def on_registered(sender, member_id: int, **_) -> None:
    try:
        outbox.enqueue("tasks.automations.welcome", member_id, queue="pushes")
        db.session.commit()
    except Exception:  # a push must never break the registration that caused it
        db.session.rollback()
        log.exception("could not ask for the welcome push of member %s", member_id)


def on_level_changed(sender, member_id: int, to_code: str, up: bool, **_) -> None:
    """Inside the promotion's transaction: the push is asked for only if it commits."""
    if up:
        outbox.enqueue("tasks.automations.level_up", member_id, to_code, queue="pushes")


def connect() -> None:
    signals.member_registered.connect(on_registered)
    signals.level_changed.connect(on_level_changed)
