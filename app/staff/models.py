from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Identity, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db

STAFF_ROLES = ("clerk", "store_manager", "operator", "admin")


class Store(db.Model):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Staff(db.Model):
    """A person at the counter (clerk, store manager) or above. `wecom_userid` links the WeCom bot."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    wecom_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (CheckConstraint("role IN ('clerk', 'store_manager', 'operator', 'admin')", name="role_known"),)


class StaffStore(db.Model):
    __tablename__ = "staff_stores"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)


class StaffAction(db.Model):
    """The audit of everything staff do at the counter: who, which store, what, when, and the outcome.
    `idempotency_key` (per staff member) makes a retried counter action return its first result."""

    __tablename__ = "staff_actions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    action: Mapped[str] = mapped_column(String(24))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        db.UniqueConstraint("staff_id", "idempotency_key", name="uq_staff_actions_staff_key"),
        Index("ix_staff_actions_store_time", "store_id", "created_at"),
    )
