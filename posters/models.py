from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Identity, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db

CHANNEL_KINDS = ("store", "clerk", "event", "advert")
INVITATION_STATUSES = ("registered", "qualified", "rewarded")


class InviteCode(db.Model):
    """A member's own code, carried in the poster's mini-program code as the `scene` (prefix `i`)."""

    __tablename__ = "invite_codes"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class ChannelCode(db.Model):
    """An operator's code for a store, a clerk, an event or an advert (prefix `c`)."""

    __tablename__ = "channel_codes"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (CheckConstraint("kind IN ('store', 'clerk', 'event', 'advert')", name="kind_known"),)


class Invitation(db.Model):
    """How a member came: invited by a member or brought by a channel, bound once, at registration."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    invitee_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    inviter_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel_codes.id"))
    scene: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default="registered")
    inviter_points: Mapped[int] = mapped_column(BigInteger, default=0)
    invitee_points: Mapped[int] = mapped_column(BigInteger, default=0)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    qualified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('registered', 'qualified', 'rewarded')", name="status_known"),
        CheckConstraint("(inviter_id IS NULL) <> (channel_id IS NULL)", name="one_source"),
        CheckConstraint("inviter_id IS NULL OR inviter_id <> invitee_id", name="not_self"),
        Index("ix_invitations_inviter", "inviter_id", "id"),
        Index("ix_invitations_channel", "channel_id"),
    )


class Touchpoint(db.Model):
    """A member's (or a visitor's) contact with the programme: a poster or channel code scanned, an
    offline event attended. Conversions are credited to these (first-touch, last-touch, linear)."""

    __tablename__ = "touchpoints"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    visitor: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    inviter_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel_codes.id"))
    offline_event_id: Mapped[int | None] = mapped_column(ForeignKey("offline_events.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        CheckConstraint("kind IN ('poster_scan', 'channel_code', 'offline_event')", name="kind_known"),
        Index("ix_touchpoints_member", "member_id", "at"),
        Index("ix_touchpoints_inviter", "inviter_id"),
        Index("ix_touchpoints_channel", "channel_id"),
    )
