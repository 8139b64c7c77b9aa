from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Identity, Index, Integer,
                        String, Text, UniqueConstraint, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db


class EarnRule(db.Model):
    """What an event type is worth, and its limits. Modes: `fixed` (points, growth), `per_yuan`
    (per yuan of the event's `amount_cents`), `attribute` (the amount the feature computed, e.g.
    the check-in table's reward, carried in the event's `points` attribute)."""

    __tablename__ = "earn_rules"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(32), index=True)
    category: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(12), default="fixed")
    points: Mapped[int] = mapped_column(Integer, default=0)
    growth: Mapped[int] = mapped_column(Integer, default=0)
    points_per_yuan: Mapped[int] = mapped_column(Integer, default=0)
    growth_per_yuan: Mapped[int] = mapped_column(Integer, default=0)
    hold_days: Mapped[int] = mapped_column(Integer, default=0)
    cap_per_day: Mapped[int | None] = mapped_column(Integer)
    cap_per_week: Mapped[int | None] = mapped_column(Integer)
    cap_per_month: Mapped[int | None] = mapped_column(Integer)
    cap_lifetime: Mapped[int | None] = mapped_column(Integer)
    budget_points: Mapped[int | None] = mapped_column(BigInteger)
    budget_used: Mapped[int] = mapped_column(BigInteger, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    level_codes: Mapped[list[str] | None] = mapped_column(ARRAY(String(32)))
    apply_level_multiplier: Mapped[bool] = mapped_column(Boolean, default=False)
    apply_campaign_multiplier: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)

    __table_args__ = (
        CheckConstraint("mode IN ('fixed', 'per_yuan', 'attribute')", name="mode_known"),
        CheckConstraint("points >= 0 AND growth >= 0 AND points_per_yuan >= 0 AND growth_per_yuan >= 0 "
                        "AND hold_days >= 0", name="amounts_not_negative"),
        CheckConstraint("budget_points IS NULL OR budget_used <= budget_points", name="budget_not_exceeded"),
    )


class Campaign(db.Model):
    """A period in which points are multiplied (member day doubles points; festivals...).
    `multiplier_pct` 200 means x2. Null `event_types` / `level_codes` / `segment` mean all; a
    `segment` (a tag code or `rfm:<code>`, see `app.segments`) limits the multiplier and the
    campaign's announcement to the members in it."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    grade: Mapped[str] = mapped_column(String(1), default="B")
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    multiplier_pct: Mapped[int] = mapped_column(Integer, default=100)
    event_types: Mapped[list[str] | None] = mapped_column(ARRAY(String(32)))
    level_codes: Mapped[list[str] | None] = mapped_column(ARRAY(String(32)))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    message: Mapped[str | None] = mapped_column(String(500))  # announced on its first day (tasks.campaigns)
    segment: Mapped[str | None] = mapped_column(String(64))
    # Made by the member-day job from the programme's settings (tasks.campaigns); one retired before its
    # day because the settings changed loses the mark.
    member_day: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        CheckConstraint("multiplier_pct BETWEEN 100 AND 1000", name="multiplier_range"),
        CheckConstraint("ends_at > starts_at", name="period_valid"),
        CheckConstraint("grade IN ('S', 'A', 'B')", name="grade_known"),
        Index("ix_campaigns_period", "starts_at", "ends_at"),
    )


class EarningEvent(db.Model):
    """Every event that came in, once per (source, event_id), with what it earned or why not."""

    __tablename__ = "earning_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source: Mapped[str] = mapped_column(String(48))
    event_id: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attributes: Mapped[dict] = mapped_column(JSONB, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64))
    order_ref: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    growth: Mapped[int] = mapped_column(BigInteger, default=0)
    outcome: Mapped[list] = mapped_column(JSONB, default=list)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        UniqueConstraint("source", "event_id", name="uq_earning_events_source_event_id"),
        CheckConstraint("status IN ('awarded', 'rejected', 'reversed')", name="status_known"),
        Index("ix_earning_events_member", "member_id", "id"),
        Index("ix_earning_events_member_type_time", "member_id", "event_type", "occurred_at"),
        Index("ix_earning_events_order", "event_type", "order_ref", postgresql_where=text("order_ref IS NOT NULL")),
    )


class RuleAward(db.Model):
    """One rule paying out for one event: what caps and budgets count."""

    __tablename__ = "rule_awards"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("earn_rules.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    event_row_id: Mapped[int] = mapped_column(ForeignKey("earning_events.id"))
    business_date: Mapped[date] = mapped_column(Date)
    points: Mapped[int] = mapped_column(BigInteger)
    growth: Mapped[int] = mapped_column(BigInteger)
    points_entry_id: Mapped[int | None] = mapped_column(BigInteger)
    growth_entry_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        UniqueConstraint("event_row_id", "rule_id", name="uq_rule_awards_event_rule"),
        Index("ix_rule_awards_caps", "rule_id", "member_id", "business_date"),
    )


class Integration(db.Model):
    """A brand system allowed to post events, with its HMAC secret."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    note: Mapped[str | None] = mapped_column(Text)
