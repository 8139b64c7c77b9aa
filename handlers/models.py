from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db


class Follower(db.Model):
    """An official-account follower linked to a member (by unionid, or by a bind code)."""

    __tablename__ = "bot_followers"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    linked_by: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class BotMessage(db.Model):
    """Each callback handled, once: WeChat delivers a message again when it got no answer in 5 s."""

    __tablename__ = "bot_messages"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    msg_key: Mapped[str] = mapped_column(String(128))
    user: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (UniqueConstraint("channel", "msg_key", name="uq_bot_messages_channel_key"),)
