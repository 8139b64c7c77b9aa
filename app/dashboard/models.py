from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db


class DashboardDay(db.Model):
    """A closed business day's figures, kept once it has settled (`app.dashboard.rollup`)."""

    __tablename__ = "dashboard_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    new_members: Mapped[int] = mapped_column(Integer)
    active_members: Mapped[int] = mapped_column(Integer)
    checkins: Mapped[int] = mapped_column(Integer)
    issued: Mapped[int] = mapped_column(BigInteger)
    spent: Mapped[int] = mapped_column(BigInteger)
    expired: Mapped[int] = mapped_column(BigInteger)
    deducted: Mapped[int] = mapped_column(BigInteger)


class DashboardRollup(db.Model):
    """One row: the time zone the kept days are in, the last day kept, and the highest ledger entry,
    check-in and member ids they were computed from (rows above those marks are checked for days
    already kept)."""

    __tablename__ = "dashboard_rollup"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    zone: Mapped[str] = mapped_column(String(64))
    through: Mapped[date | None] = mapped_column(Date)
    ledger_id: Mapped[int] = mapped_column(BigInteger, default=0)
    checkin_id: Mapped[int] = mapped_column(BigInteger, default=0)
    member_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
