from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Identity, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db


class OutboxJob(db.Model):
    """A job asked for inside a transaction: written with it, sent to RQ after it commits, and sent
    by the scheduler's drain if Redis was unreachable then. `enqueued_at` is set once RQ has it."""

    __tablename__ = "outbox_jobs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    func: Mapped[str] = mapped_column(String(128))
    args: Mapped[list] = mapped_column(JSONB, default=list)
    queue: Mapped[str] = mapped_column(String(32), default="default")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_outbox_jobs_waiting", "id", postgresql_where=text("enqueued_at IS NULL")),)


class MessageTemplate(db.Model):
    """A push's wording: the WeChat subscribe template it uses, its fields with variables
    ({nickname}, {points}, {level}, {date}, {gift}, {points_name}), and the WeCom group text."""

    __tablename__ = "message_templates"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    wechat_template_id: Mapped[str] = mapped_column(String(64))
    page: Mapped[str | None] = mapped_column(String(128))
    fields: Mapped[dict] = mapped_column(JSONB, default=dict)
    group_text: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)


class SubscribeGrant(db.Model):
    """Messages a member allowed for one template (one per tap on wx.requestSubscribeMessage)."""

    __tablename__ = "subscribe_grants"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    template_code: Mapped[str] = mapped_column(ForeignKey("message_templates.code"), primary_key=True)
    remaining: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (CheckConstraint("remaining >= 0 AND remaining <= 1000", name="remaining_valid"),)


class PushRun(db.Model):
    """One push campaign run (a birthday day, a member day, a welcome...): who was targeted and what
    became of each, counted from its send log. Unique per (kind, ref): running it again resumes it."""

    __tablename__ = "push_runs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(64))
    template_code: Mapped[str] = mapped_column(ForeignKey("message_templates.code"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    summary: Mapped[dict] = mapped_column(JSONB, default=dict)

    __table_args__ = (db.UniqueConstraint("kind", "ref", name="uq_push_runs_kind_ref"),)


SEND_STATUSES = ("pending", "sending", "sent", "skipped", "failed")


class SendLog(db.Model):
    """One member's message of a run. The unique key (run, member) makes sending idempotent: a run
    that crashed and runs again sends only to those still pending."""

    __tablename__ = "send_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("push_runs.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    variables: Mapped[dict] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        db.UniqueConstraint("run_id", "member_id", name="uq_send_log_run_member"),
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'skipped', 'failed')", name="status_known"),
        Index("ix_send_log_run_status", "run_id", "status"),
    )


class Robot(db.Model):
    """A WeCom group robot (its webhook key), for the operators' group or a store's group."""

    __tablename__ = "wecom_robots"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    webhook_key: Mapped[str] = mapped_column(String(128), unique=True)
    scope: Mapped[str] = mapped_column(String(16), default="operators")
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (CheckConstraint("scope IN ('operators', 'store')", name="scope_known"),)


class RobotMessage(db.Model):
    """A message waiting for, or sent by, a robot: robots send at most 20 a minute, the rest wait."""

    __tablename__ = "wecom_robot_messages"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    robot_id: Mapped[int] = mapped_column(ForeignKey("wecom_robots.id"))
    dedupe_key: Mapped[str] = mapped_column(String(96))
    body: Mapped[dict] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        db.UniqueConstraint("robot_id", "dedupe_key", name="uq_wecom_robot_messages_once"),
        CheckConstraint("status IN ('queued', 'sent', 'failed')", name="status_known"),
        Index("ix_wecom_robot_messages_queued", "robot_id", "id", postgresql_where=text("status = 'queued'")),
    )


class Automation(db.Model):
    """A push on an event that operators switch on or off: welcome, level_up, points_expiring. With a
    `segment` (a tag code or `rfm:<code>`, see `app.segments`) it goes only to the members in it."""

    __tablename__ = "automations"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    template_code: Mapped[str] = mapped_column(ForeignKey("message_templates.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    segment: Mapped[str | None] = mapped_column(String(64))
