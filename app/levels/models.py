from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Identity, Index, Integer,
                        String)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db

EXPIRY_ACTIONS = ("keep_if_qualified", "reset", "discount", "deduct")


class LevelDefinition(db.Model):
    """A tier. Reached by growth (`threshold`), or by growth plus a condition (`first_purchase`).

    Validity: permanent (`validity_months` null) or N months from reaching it. When it ends the
    action applies to growth: `keep_if_qualified` (nothing), `reset` (to 0), `discount` (by
    `action_percent` %), `deduct` (`action_numerator`/`action_denominator` of it, e.g. a third);
    then the member is placed at the level the remaining growth earns.
    Rights are columns (what the engine reads) plus `service_rights` shown as text.
    """

    __tablename__ = "level_definitions"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    rank: Mapped[int] = mapped_column(Integer, unique=True)
    threshold: Mapped[int] = mapped_column(BigInteger, default=0)
    condition: Mapped[str] = mapped_column(String(16), default="growth")
    validity_months: Mapped[int | None] = mapped_column(Integer)
    expiry_action: Mapped[str] = mapped_column(String(20), default="keep_if_qualified")
    action_percent: Mapped[int] = mapped_column(Integer, default=0)
    action_numerator: Mapped[int] = mapped_column(Integer, default=0)
    action_denominator: Mapped[int] = mapped_column(Integer, default=1)
    earn_multiplier_pct: Mapped[int] = mapped_column(Integer, default=100)
    birthday_points: Mapped[int] = mapped_column(Integer, default=0)
    birthday_item_sku: Mapped[str | None] = mapped_column(String(48))
    member_day_multiplier_pct: Mapped[int] = mapped_column(Integer, default=100)
    discount_pct: Mapped[int] = mapped_column(Integer, default=100)
    service_rights: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        CheckConstraint("condition IN ('growth', 'first_purchase')", name="condition_known"),
        CheckConstraint("expiry_action IN ('keep_if_qualified', 'reset', 'discount', 'deduct')", name="action_known"),
        CheckConstraint("threshold >= 0 AND (validity_months IS NULL OR validity_months > 0)", name="values_valid"),
        CheckConstraint("action_percent BETWEEN 0 AND 100 AND action_denominator > 0 "
                        "AND action_numerator BETWEEN 0 AND action_denominator", name="action_fraction_valid"),
        CheckConstraint("earn_multiplier_pct BETWEEN 100 AND 1000 AND member_day_multiplier_pct BETWEEN 100 AND 1000 "
                        "AND discount_pct BETWEEN 1 AND 100 AND birthday_points >= 0", name="rights_valid"),
    )


class MemberLevel(db.Model):
    """A member's level now, and until when it holds (null: permanent)."""

    __tablename__ = "member_levels"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    level_code: Mapped[str] = mapped_column(String(32))
    reached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_member_levels_expires_at", "expires_at"),)


class LevelChange(db.Model):
    """Every change of level: from, to, why, when."""

    __tablename__ = "level_changes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    from_code: Mapped[str | None] = mapped_column(String(32))
    to_code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (Index("ix_level_changes_member", "member_id", "id"),)


class LevelNotice(db.Model):
    """A notification for the pushes to send: level up, expiring in 30 / 7 days, level down.
    Unique per (member, kind, ref) so a job run twice records one notice."""

    __tablename__ = "level_notices"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(24))
    level_code: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(40))
    due_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        db.UniqueConstraint("member_id", "kind", "ref", name="uq_level_notices_once"),
        CheckConstraint("kind IN ('level_up', 'level_down', 'level_renewed', 'level_expiring_30', 'level_expiring_7')",
                        name="kind_known"),
        Index("ix_level_notices_unsent", "created_at"),
    )
