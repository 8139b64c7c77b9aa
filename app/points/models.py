"""Ledger tables. `LedgerEntry` rows are never updated or deleted; a correction is a new row.

Two currencies: `points` (spendable, held in lots that expire) and `growth` (drives levels, never
spent). Points live in two buckets: `available` and `pending` (held, e.g. until a return window
closes). For each (member, currency, bucket) the account's balance equals the sum of its entries,
and for points it also equals the sum of the remainders of the member's lots in that bucket.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db

CURRENCIES = ("points", "growth")
BUCKETS = ("available", "pending")
ENTRY_KINDS = ("earn", "release", "spend", "expire", "adjust", "penalty", "reversal")


class PointAccount(db.Model):
    """Balances, kept in the same transaction as each entry. Its row is the per-member lock."""

    __tablename__ = "point_accounts"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    available: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    pending: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    lifetime_earned: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    lifetime_spent: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    expired: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    growth: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    growth_lifetime: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, server_default=text("now()"))

    __table_args__ = (
        CheckConstraint("available >= 0 AND pending >= 0 AND growth >= 0", name="balances_not_negative"),
        CheckConstraint("lifetime_earned >= 0 AND lifetime_spent >= 0 AND expired >= 0 AND growth_lifetime >= 0",
                        name="totals_not_negative"),
    )


class LedgerOperation(db.Model):
    """One balance-changing call, by idempotency key. The same key again returns `result`;
    the same key with another request (`fingerprint`) is refused."""

    __tablename__ = "ledger_operations"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    action: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    operation_id: Mapped[int] = mapped_column(ForeignKey("ledger_operations.id"))
    currency: Mapped[str] = mapped_column(String(8))
    bucket: Mapped[str] = mapped_column(String(12), default="available")
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    reason_code: Mapped[str] = mapped_column(String(48))
    reason: Mapped[str] = mapped_column(Text)
    source_type: Mapped[str | None] = mapped_column(String(24))
    source_id: Mapped[str | None] = mapped_column(String(64))
    operator_id: Mapped[int | None] = mapped_column(BigInteger)
    reverses_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    lot_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        CheckConstraint("currency IN ('points', 'growth')", name="currency_known"),
        CheckConstraint("bucket IN ('available', 'pending')", name="bucket_known"),
        CheckConstraint("kind IN ('earn', 'release', 'spend', 'expire', 'adjust', 'penalty', 'reversal')",
                        name="kind_known"),
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        CheckConstraint("currency = 'points' OR bucket = 'available'", name="growth_has_no_pending"),
        Index("ix_ledger_entries_member_id_id", "member_id", "id"),
        Index("ix_ledger_entries_operation_id", "operation_id"),  # what an operation wrote (replays, outcomes)
        Index("ix_ledger_entries_created_at", "created_at"),
        Index("ix_ledger_entries_reverses", "reverses_entry_id", postgresql_where=text("reverses_entry_id IS NOT NULL")),
        # the dashboard's birthday results read the year's gifts without passing over the whole ledger
        Index("ix_ledger_entries_birthday_gifts", "created_at", postgresql_where=text("reason_code = 'birthday_gift'")),
    )


class PointsLot(db.Model):
    """Points from one earn, with their own expiry. `remaining` falls as they are spent or expire.

    status: `pending` (held until `available_at`), `active`, `cancelled` (a pending hold taken
    back), `expired` (past `expires_at`; remaining 0). A lot given back after expiry is expired again.
    """

    __tablename__ = "points_lots"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    earn_entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    earned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    available_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("amount > 0 AND remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
        CheckConstraint("status IN ('pending', 'active', 'cancelled', 'expired')", name="status_known"),
        UniqueConstraint("earn_entry_id", name="uq_points_lots_earn_entry_id"),
        Index("ix_points_lots_member_spendable", "member_id", "expires_at",
              postgresql_where=text("status = 'active' AND remaining > 0")),
        Index("ix_points_lots_due_expiry", "expires_at", postgresql_where=text("status = 'active' AND remaining > 0")),
        Index("ix_points_lots_due_release", "available_at", postgresql_where=text("status = 'pending'")),
    )


class LotAllocation(db.Model):
    """Which lots a spend (or a clawback) took, so a refund gives back the same lots.
    `returned` counts what refunds have given back so far (never more than `amount`)."""

    __tablename__ = "lot_allocations"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("points_lots.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    returned: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    __table_args__ = (
        CheckConstraint("amount > 0 AND returned >= 0 AND returned <= amount", name="returned_within_amount"),
        Index("ix_lot_allocations_entry_id", "entry_id"),
        Index("ix_lot_allocations_lot_id", "lot_id"),
    )


class EntryReversal(db.Model):
    """What was asked back of an entry and what could be taken (a clawback may fall short when the
    member already spent the points). The sum asked never exceeds the entry's amount."""

    __tablename__ = "entry_reversals"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    operation_id: Mapped[int] = mapped_column(ForeignKey("ledger_operations.id"))
    requested: Mapped[int] = mapped_column(BigInteger)
    taken: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        CheckConstraint("requested > 0 AND taken >= 0 AND taken <= requested", name="taken_within_requested"),
        Index("ix_entry_reversals_entry_id", "entry_id"),
    )
