"""Segments: tags (applied by hand or kept by a rule) and each member's RFM scores."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Identity, Index, Integer,
                        SmallInteger, String)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db

TAG_KINDS = ("manual", "rule")
SOURCES = ("manual", "rule")
# The eight RFM segments: (R high, F high, M high) -> code, name. High means a score >= RFM_HIGH_SCORE.
RFM_SEGMENTS = {
    "important_value": "重要价值客户",     # R high, F high, M high
    "important_develop": "重要发展客户",   # R high, F low,  M high
    "important_keep": "重要保持客户",      # R low,  F high, M high
    "important_retain": "重要挽留客户",    # R low,  F low,  M high
    "general_value": "一般价值客户",       # R high, F high, M low
    "general_develop": "一般发展客户",     # R high, F low,  M low
    "general_keep": "一般保持客户",        # R low,  F high, M low
    "general_retain": "一般挽留客户",      # R low,  F low,  M low
}


class Tag(db.Model):
    """A label on members. `manual` tags are applied by operators; `rule` tags are rebuilt from
    `rule` (`{"all": [condition, ...]}`, see `app.segments.rules`), and may also carry memberships an
    operator pinned by hand, which a rebuild leaves alone."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    rule: Mapped[dict | None] = mapped_column(JSONB(none_as_null=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("kind IN ('manual', 'rule')", name="kind_known"),
        CheckConstraint("(kind = 'rule') = (rule IS NOT NULL)", name="rule_iff_rule_kind"),
    )


class MemberTag(db.Model):
    """A member carrying a tag, once: by hand (`tagged_by` the operator) or by the tag's rule."""

    __tablename__ = "member_tags"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(8))
    tagged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    tagged_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))

    __table_args__ = (
        CheckConstraint("source IN ('manual', 'rule')", name="source_known"),
        CheckConstraint("source = 'manual' OR tagged_by IS NULL", name="rule_rows_have_no_operator"),
        Index("ix_member_tags_tag_source", "tag_id", "source", "member_id"),
    )


class MemberRFM(db.Model):
    """A member's recency, frequency and monetary value over the RFM window, their 1-5 scores and
    segment, as of the last run of `app.segments.rfm.compute_all`. Members without any activity in
    the window have no row."""

    __tablename__ = "member_rfm"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    recency_days: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary_cents: Mapped[int] = mapped_column(BigInteger)
    r_score: Mapped[int] = mapped_column(SmallInteger)
    f_score: Mapped[int] = mapped_column(SmallInteger)
    m_score: Mapped[int] = mapped_column(SmallInteger)
    segment: Mapped[str] = mapped_column(String(24))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("r_score BETWEEN 1 AND 5 AND f_score BETWEEN 1 AND 5 AND m_score BETWEEN 1 AND 5",
                        name="scores_in_range"),
        CheckConstraint("recency_days >= 0 AND frequency >= 0 AND monetary_cents >= 0", name="values_not_negative"),
        CheckConstraint("segment IN ('important_value', 'important_develop', 'important_keep', 'important_retain', "
                        "'general_value', 'general_develop', 'general_keep', 'general_retain')", name="segment_known"),
        Index("ix_member_rfm_segment", "segment"),
    )
