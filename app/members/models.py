from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, Identity, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db

MEMBER_STATUSES = ("active", "erased")


class Member(db.Model):
    """A person in the programme, keyed on (appid, openid); unionid is optional.

    `session_key` is WeChat's key for this member's encrypted data: it never leaves the server.
    An erased member keeps the row (the ledger points at it) with every personal field cleared.
    """

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    appid: Mapped[str] = mapped_column(String(32))
    openid: Mapped[str] = mapped_column(String(64))
    unionid: Mapped[str | None] = mapped_column(String(64))
    session_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")

    phone: Mapped[str | None] = mapped_column(String(20))
    nickname: Mapped[str | None] = mapped_column(String(64))
    avatar_url: Mapped[str | None] = mapped_column(String(512))
    gender: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    birthday: Mapped[date | None] = mapped_column(Date)
    region: Mapped[str | None] = mapped_column(String(64))
    company: Mapped[str | None] = mapped_column(String(128))
    industry: Mapped[str | None] = mapped_column(String(64))
    company_size: Mapped[str | None] = mapped_column(String(32))
    job_role: Mapped[str | None] = mapped_column(String(64))

    register_scene: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    phone_bound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        db.UniqueConstraint("appid", "openid", name="uq_members_appid_openid"),
        Index("uq_members_appid_phone", "appid", "phone", unique=True, postgresql_where=text("phone IS NOT NULL")),
        Index("ix_members_unionid", "unionid", postgresql_where=text("unionid IS NOT NULL")),
        CheckConstraint("status IN ('active', 'erased')", name="status_known"),
        CheckConstraint("gender IN (0, 1, 2)", name="gender_known"),
    )

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.status}>"


class MemberFlag(db.Model):
    """Something about a member an operator should look at (e.g. a farming pattern), until resolved."""

    __tablename__ = "member_flags"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[int] = mapped_column(db.ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[int | None] = mapped_column(BigInteger)
    resolution: Mapped[str | None] = mapped_column(String(256))

    __table_args__ = (
        Index("uq_member_flags_open", "member_id", "kind", unique=True, postgresql_where=text("resolved_at IS NULL")),
    )
