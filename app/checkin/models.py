from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Identity, Integer, SmallInteger
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db


class CheckinSettings(db.Model):
    """One row. Day N of a streak gives `cycle_rewards[(N - 1) % len]`, so the last day's bonus comes
    once a cycle and the cycle starts again. `monthly_rewards` maps a count of days checked in a
    month to a bonus, given once. Make-ups repair missed days of the current month."""

    __tablename__ = "checkin_settings"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    cycle_rewards: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    monthly_rewards: Mapped[dict] = mapped_column(JSONB, default=dict)
    makeups_per_month: Mapped[int] = mapped_column(Integer, default=2)
    makeup_cost_points: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)

    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("makeups_per_month >= 0 AND makeup_cost_points >= 0", name="makeups_valid"),
    )


class Checkin(db.Model):
    """A member's check-in for one business day (programme time zone). `streak` is the length of
    the run of consecutive days ending on this day (a make-up can lengthen later days' runs). What the
    day earned is the outcome of its check-in event (`service.event_id`), kept once, in the events."""

    __tablename__ = "checkins"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    day: Mapped[date] = mapped_column(Date)
    made_up: Mapped[bool] = mapped_column(Boolean, default=False)
    streak: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        db.UniqueConstraint("member_id", "day", name="uq_checkins_member_day"),
        CheckConstraint("streak >= 1", name="streak_positive"),
    )
