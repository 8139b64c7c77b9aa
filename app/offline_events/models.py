from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Identity, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db


class OfflineEvent(db.Model):
    __tablename__ = "offline_events"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(128))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    code: Mapped[str] = mapped_column(String(24), unique=True)
    reward_points: Mapped[int] = mapped_column(Integer, default=0)
    reward_growth: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="window_valid"),
        CheckConstraint("reward_points >= 0 AND reward_growth >= 0", name="rewards_valid"),
    )
