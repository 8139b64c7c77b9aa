from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db

EXPIRY_POLICIES = ("never", "days", "month_end", "annual")


class Programme(db.Model):
    """One row (id 1): what points are called, what they are worth, when they expire.

    Money value: `points_per_yuan` points are worth one yuan (100 means 1 point = 1 fen).
    Expiry: `never`; `days` (N days after earning); `month_end` (end of the month they were
    earned in); `annual` (points earned in year Y expire at the end of year Y+N, as brands do).
    """

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    name: Mapped[str] = mapped_column(String(64), default="会员中心")
    points_name: Mapped[str] = mapped_column(String(16), default="积分")
    points_per_yuan: Mapped[int] = mapped_column(Integer, default=100)
    expiry_policy: Mapped[str] = mapped_column(String(16), default="annual")
    expiry_days: Mapped[int] = mapped_column(Integer, default=365)
    expiry_years: Mapped[int] = mapped_column(SmallInteger, default=1)
    # When growth is taken back (a refund, a correction), drop the level at once if it no longer qualifies.
    downgrade_on_growth_reversal: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # The poster design members get unless they pick one (a key of config/posters.py).
    poster_template: Mapped[str] = mapped_column(String(32), default="classic", server_default="classic")
    # When an invitee counts, and both sides are rewarded: a bound phone, or a first purchase.
    referral_qualify_on: Mapped[str] = mapped_column(String(16), default="phone", server_default="phone")
    # The member day (tasks.campaigns): on or off, its day of the month (1..28, so every month has
    # one), the multiplier everyone gets that day (levels may give more), and what members see it called.
    member_day_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    member_day_of_month: Mapped[int] = mapped_column(SmallInteger, default=8, server_default="8")
    member_day_multiplier_pct: Mapped[int] = mapped_column(Integer, default=200, server_default="200")
    member_day_name: Mapped[str] = mapped_column(String(16), default="会员日", server_default="会员日")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)

    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("points_per_yuan > 0", name="points_per_yuan_positive"),
        CheckConstraint("expiry_policy IN ('never', 'days', 'month_end', 'annual')", name="expiry_policy_known"),
        CheckConstraint("referral_qualify_on IN ('phone', 'first_purchase')", name="referral_qualify_on_known"),
        CheckConstraint("expiry_days > 0 AND expiry_years >= 0", name="expiry_lengths_valid"),
        CheckConstraint("member_day_of_month BETWEEN 1 AND 28", name="member_day_of_month_range"),
        CheckConstraint("member_day_multiplier_pct BETWEEN 100 AND 1000", name="member_day_multiplier_range"),
    )
