"""The mechanics under every ledger action: claim an idempotency key, lock the member's account,
write entries, take points from lots and give them back.

Concurrency: an action first inserts its key into `ledger_operations` (a second request with the
same key waits on the unique index for the first to commit, then replays its result), then locks
the member's `point_accounts` row (`FOR UPDATE`), the only lock it takes. There is no global row
on the write path, so members never wait for each other.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from app import clock
from app.extensions import db
from app.members.models import Member
from app.points.errors import IdempotencyMismatch, InvalidAmount, UnknownMember
from app.points.models import LedgerEntry, LedgerOperation, LotAllocation, PointAccount, PointsLot

MAX_AMOUNT = 1_000_000_000  # one call never moves more than a billion points


@dataclass
class PostedEntry:
    id: int
    currency: str
    bucket: str
    kind: str
    amount: int
    balance_after: int
    lot_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Outcome:
    """What an action wrote. `replayed` is True when the key had been used and nothing was written."""

    operation_id: int
    entries: list[PostedEntry] = field(default_factory=list)
    replayed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def amount(self) -> int:
        return sum(e.amount for e in self.entries if e.currency == "points" and e.kind != "expire")


def check_amount(amount: Any, *, allow_zero: bool = False) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount()
    if amount < 0 or amount > MAX_AMOUNT or (amount == 0 and not allow_zero):
        raise InvalidAmount()
    return amount


def fingerprint(action: str, member_id: int, **request: Any) -> str:
    payload = json.dumps({"action": action, "member": member_id, **request}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def claim(key: str, member_id: int, action: str, print_: str) -> int | Outcome:
    """Insert the operation; or, if its key is taken, return the first call's outcome (same request)
    or raise `IdempotencyMismatch` (a different request with the same key)."""
    if not key or len(key) > 200:
        raise InvalidAmount("幂等键长度须为 1 到 200 个字符", code="invalid_idempotency_key")
    try:
        op_id = db.session.execute(
            insert(LedgerOperation)
            .values(key=key, member_id=member_id, action=action, fingerprint=print_, created_at=clock.now())
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(LedgerOperation.id)
        ).scalar()
    except IntegrityError:  # the member does not exist (foreign key)
        db.session.rollback()
        raise UnknownMember()
    if op_id is not None:
        return op_id
    return replay(key, print_)


def replay(key: str, print_: str) -> Outcome:
    op = db.session.execute(select(LedgerOperation).where(LedgerOperation.key == key)).scalar_one()
    if op.fingerprint != print_:
        db.session.rollback()
        raise IdempotencyMismatch()
    rows = db.session.execute(
        select(LedgerEntry, PointsLot.id)
        .outerjoin(PointsLot, PointsLot.earn_entry_id == LedgerEntry.id)
        .where(LedgerEntry.operation_id == op.id).order_by(LedgerEntry.id)
    ).all()
    entries = [PostedEntry(e.id, e.currency, e.bucket, e.kind, e.amount, e.balance_after, lot_id) for e, lot_id in rows]
    outcome = Outcome(op.id, entries, replayed=True, extra=dict(op.result or {}))  # read before the rollback expires op
    db.session.rollback()  # the failed insert's transaction holds nothing worth keeping
    return outcome


def lock_account(member_id: int) -> PointAccount:
    """Create the account if needed and lock it for this transaction (the per-member lock)."""
    exists = db.session.execute(
        select(Member.id).where(Member.id == member_id, Member.status == "active")
    ).scalar()
    if exists is None:
        db.session.rollback()
        raise UnknownMember()
    db.session.execute(insert(PointAccount).values(member_id=member_id, updated_at=clock.now())
                       .on_conflict_do_nothing(index_elements=["member_id"]))
    return db.session.execute(
        select(PointAccount).where(PointAccount.member_id == member_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def write_entry(account: PointAccount, op_id: int, *, currency: str, bucket: str, kind: str, amount: int,
                reason_code: str, reason: str, source_type: str | None = None, source_id: str | None = None,
                operator_id: int | None = None, reverses: int | None = None, lot_id: int | None = None,
                at: datetime | None = None) -> LedgerEntry:
    """Append one entry and move the matching balance on the (locked) account by `amount`."""
    column = "growth" if currency == "growth" else bucket
    balance = getattr(account, column) + amount
    setattr(account, column, balance)
    account.updated_at = clock.now()
    entry = LedgerEntry(
        member_id=account.member_id, operation_id=op_id, currency=currency, bucket=bucket, kind=kind,
        amount=amount, balance_after=balance, reason_code=reason_code, reason=reason, source_type=source_type,
        source_id=None if source_id is None else str(source_id), operator_id=operator_id,
        reverses_entry_id=reverses, lot_id=lot_id, created_at=at or clock.now(),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def new_lot(entry: LedgerEntry, *, available_at: datetime | None, expires_at: datetime | None) -> PointsLot:
    lot = PointsLot(member_id=entry.member_id, earn_entry_id=entry.id, amount=entry.amount, remaining=entry.amount,
                    status="pending" if entry.bucket == "pending" else "active", earned_at=entry.created_at,
                    available_at=available_at, expires_at=expires_at)
    db.session.add(lot)
    db.session.flush()
    return lot


def spendable_lots(member_id: int) -> list[PointsLot]:
    """Active lots with points left, the soonest to expire first (never-expiring last)."""
    return list(db.session.execute(
        select(PointsLot).where(PointsLot.member_id == member_id, PointsLot.status == "active",
                                PointsLot.remaining > 0)
        .order_by(PointsLot.expires_at.asc().nulls_last(), PointsLot.id)
    ).scalars())


def take_from_lots(entry: LedgerEntry, amount: int, lots: list[PointsLot]) -> int:
    """Take up to `amount` from `lots` in order, recording each allocation; return what was taken."""
    left = amount
    for lot in lots:
        if left == 0:
            break
        part = min(lot.remaining, left)
        if part <= 0:
            continue
        lot.remaining -= part
        db.session.add(LotAllocation(entry_id=entry.id, lot_id=lot.id, amount=part, returned=0))
        left -= part
    db.session.flush()
    return amount - left


def settle(account: PointAccount, op_id: int) -> None:
    """Bring one locked account up to date: release due pending lots, expire due lots.

    The batch jobs do the same for everyone; settling here as well means a member never sees or
    spends points that are already due to expire, whether or not tonight's job has run."""
    at = clock.now()
    due_release = db.session.execute(
        select(PointsLot).where(PointsLot.member_id == account.member_id, PointsLot.status == "pending",
                                PointsLot.available_at <= at).order_by(PointsLot.id)
    ).scalars().all()
    for lot in due_release:
        release_lot(account, op_id, lot)
    due_expiry = db.session.execute(
        select(PointsLot).where(PointsLot.member_id == account.member_id, PointsLot.status == "active",
                                PointsLot.remaining > 0, PointsLot.expires_at <= at).order_by(PointsLot.id)
    ).scalars().all()
    for lot in due_expiry:
        expire_lot(account, op_id, lot, lot.remaining)


def release_lot(account: PointAccount, op_id: int, lot: PointsLot) -> None:
    amount = lot.remaining
    lot.status = "active"
    if amount:
        write_entry(account, op_id, currency="points", bucket="pending", kind="release", amount=-amount,
                    reason_code="pending_released", reason="待入账积分转为可用", source_type="lot", source_id=lot.id, lot_id=lot.id)
        write_entry(account, op_id, currency="points", bucket="available", kind="release", amount=amount,
                    reason_code="pending_released", reason="待入账积分到账", source_type="lot", source_id=lot.id, lot_id=lot.id)


def expire_lot(account: PointAccount, op_id: int, lot: PointsLot, amount: int) -> None:
    lot.remaining -= amount
    lot.status = "expired"
    account.expired += amount
    write_entry(account, op_id, currency="points", bucket="available", kind="expire", amount=-amount,
                reason_code="points_expired", reason="积分到期", source_type="lot", source_id=lot.id, lot_id=lot.id)


def restore_allocations(entry: LedgerEntry, amount: int) -> list[tuple[PointsLot, int]]:
    """Give back up to `amount` of what `entry` took, to the same lots, last-taken first."""
    allocations = db.session.execute(
        select(LotAllocation).where(LotAllocation.entry_id == entry.id).order_by(LotAllocation.id.desc())
    ).scalars().all()
    restored: list[tuple[PointsLot, int]] = []
    left = amount
    for allocation in allocations:
        if left == 0:
            break
        part = min(allocation.amount - allocation.returned, left)
        if part <= 0:
            continue
        allocation.returned += part
        lot = db.session.get(PointsLot, allocation.lot_id)
        lot.remaining += part
        restored.append((lot, part))
        left -= part
    db.session.flush()
    return restored


def store_result(op_id: int, result: dict[str, Any]) -> None:
    db.session.execute(update(LedgerOperation).where(LedgerOperation.id == op_id).values(result=result))
