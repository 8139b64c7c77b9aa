from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db


class AuditEntry(db.Model):
    """One row changed by an operator: the table and key, the fields before and after. The rows of one
    request share `request_id`, and `action` names what the operator did (the endpoint)."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    request_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(120))
    target_table: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(String(64))
    change: Mapped[str] = mapped_column(String(8))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    ip: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        CheckConstraint("change IN ('create', 'update', 'delete')", name="change_known"),
        Index("ix_audit_entries_at", "at"),
        Index("ix_audit_entries_operator_id_at", "operator_id", "at"),
        Index("ix_audit_entries_target", "target_table", "target_id"),
    )
