from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Identity, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db


class TaskDefinition(db.Model):
    """A task: do `target` events of `event_type` once ever, per business day, or per week."""

    __tablename__ = "task_definitions"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    title: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    event_type: Mapped[str] = mapped_column(String(32))
    target: Mapped[int] = mapped_column(Integer, default=1)
    reward_points: Mapped[int] = mapped_column(Integer, default=0)
    reward_growth: Mapped[int] = mapped_column(Integer, default=0)
    link: Mapped[str | None] = mapped_column(String(128))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        CheckConstraint("kind IN ('once', 'daily', 'weekly')", name="kind_known"),
        CheckConstraint("target >= 1 AND reward_points >= 0 AND reward_growth >= 0", name="values_valid"),
    )


class TaskClaim(db.Model):
    """A member's claimed reward for a task in one period (`period` is 'once', a day or a week)."""

    __tablename__ = "task_claims"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task_definitions.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    period: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    growth: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (db.UniqueConstraint("task_id", "member_id", "period", name="uq_task_claims_once_per_period"),)
