"""The demo year's ledger, kept in memory: the rules of `app.points` (posting, service, maintenance)
applied in time order, writing the rows those would write, with their ids.

Per member: an earn opens a lot (pending for a hold, else active) that expires by the programme's
policy; a spend first settles the account (releases due holds, expires due lots, in the spend's own
operation, as `posting.settle` does), then takes from the lots that expire first and records each
allocation; a reversal gives back to the same lots (expiring again at once what is past its expiry)
or claws an earn back, its own lot first. The nightly job (`release_due` then `expire_due`) writes
one operation per member and batch, as `app.points.maintenance` does. A balance never goes below
zero: an action that would make it is refused and writes nothing.
"""
from __future__ import annotations

import itertools
import json
from bisect import insort
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

from app.points.posting import fingerprint

_NEVER = datetime.max.replace(tzinfo=timezone.utc)


def _lot_order(lot: "Lot") -> tuple[datetime, int]:
    """The order spends take lots in: soonest expiry first, never-expiring last, then by id."""
    return lot.expires_at or _NEVER, lot.id


class Lot:
    __slots__ = ("id", "member_id", "entry_id", "amount", "remaining", "status", "earned_at", "available_at",
                 "expires_at", "listed")

    def row(self) -> tuple:
        return (self.id, self.member_id, self.entry_id, self.amount, self.remaining, self.status, self.earned_at,
                self.available_at, self.expires_at)


class Account:
    """A member's `point_accounts` row, with the lots a spend may take (`spendable`, in spending
    order) and the held ones (`held`, by id)."""

    __slots__ = ("member_id", "available", "pending", "lifetime_earned", "lifetime_spent", "expired", "growth",
                 "growth_lifetime", "updated_at", "spendable", "held")

    def __init__(self, member_id: int, at: datetime) -> None:
        self.member_id = member_id
        self.available = self.pending = self.lifetime_earned = self.lifetime_spent = self.expired = 0
        self.growth = self.growth_lifetime = 0
        self.updated_at = at
        self.spendable: list[Lot] = []
        self.held: list[Lot] = []

    def row(self) -> tuple:
        return (self.member_id, self.available, self.pending, self.lifetime_earned, self.lifetime_spent, self.expired,
                self.growth, self.growth_lifetime, self.updated_at)


class Spend:
    """A spend entry and the lots it took, for a later refund: allocations are `[row, lot]`."""

    __slots__ = ("entry_id", "amount", "allocations", "asked")

    def __init__(self, entry_id: int, amount: int, allocations: list) -> None:
        self.entry_id, self.amount, self.allocations, self.asked = entry_id, amount, allocations, 0


GrowthListener = Callable[[Account, int, int, str, datetime], None]


class Books:
    """Rows out: `operations` and `allocations` as lists (a later step sets an operation's result or
    an allocation's `returned`), `entries` and `reversals` as tuples, `lots` as `Lot` objects."""

    def __init__(self, start_ids: dict[str, int], expiry: Callable[[datetime], datetime | None],
                 job_day: Callable[[datetime], date], on_growth: GrowthListener) -> None:
        self._op_ids = itertools.count(start_ids["ledger_operations"] + 1)
        self._entry_ids = itertools.count(start_ids["ledger_entries"] + 1)
        self._lot_ids = itertools.count(start_ids["points_lots"] + 1)
        self._allocation_ids = itertools.count(start_ids["lot_allocations"] + 1)
        self._reversal_ids = itertools.count(start_ids["entry_reversals"] + 1)
        self.expiry, self.job_day, self.on_growth = expiry, job_day, on_growth
        self.operations: list[list] = []
        self.entries: list[tuple] = []
        self.lots: list[Lot] = []
        self.allocations: list[list] = []
        self.reversals: list[tuple] = []
        self.due_release: dict[date, set[int]] = {}
        self.due_expiry: dict[date, set[int]] = {}

    # ---- rows

    def operation(self, key: str, member_id: int, action: str, print_: str, at: datetime) -> list:
        row = [next(self._op_ids), key, member_id, action, print_, None, at]
        self.operations.append(row)
        return row

    def _entry(self, account: Account, op_id: int, currency: str, bucket: str, kind: str, amount: int,
               reason_code: str, reason: str, at: datetime, source_type: str | None = None,
               source_id: str | None = None, reverses: int | None = None, lot_id: int | None = None) -> tuple[int, int]:
        if currency == "growth":
            account.growth += amount
            balance = account.growth
        elif bucket == "pending":
            account.pending += amount
            balance = account.pending
        else:
            account.available += amount
            balance = account.available
        if balance < 0:
            raise AssertionError(f"member {account.member_id}: {currency}/{bucket} would go below zero")
        account.updated_at = at
        entry_id = next(self._entry_ids)
        self.entries.append((entry_id, account.member_id, op_id, currency, bucket, kind, amount, balance, reason_code,
                             reason, source_type, source_id, None, reverses, lot_id, at))
        return entry_id, balance

    def _list(self, account: Account, lot: Lot) -> None:
        """Make an active lot with points spendable, and due for tonight's expiry job when it expires."""
        if lot.remaining > 0 and not lot.listed:
            insort(account.spendable, lot, key=_lot_order)
            lot.listed = True
            if lot.expires_at is not None:
                self.due_expiry.setdefault(self.job_day(lot.expires_at), set()).add(account.member_id)

    def _unlist(self, account: Account, lot: Lot) -> None:
        if lot.listed and lot.remaining == 0:
            account.spendable.remove(lot)
            lot.listed = False

    # ---- earn

    def earn(self, account: Account, points: int, growth: int, *, key: str, reason_code: str, reason: str,
             at: datetime, hold_days: int = 0, source_type: str | None = None,
             source_id: str | None = None) -> tuple[int | None, int | None, Lot | None]:
        """`service.earn`: (points entry id, growth entry id, lot)."""
        member_id = account.member_id
        bucket = "pending" if hold_days and points else "available"
        print_ = fingerprint("earn", member_id, points=points, growth=growth, hold_days=hold_days,
                             reason_code=reason_code, source_type=source_type, source_id=source_id, kind="earn")
        op_id = self.operation(key, member_id, "earn", print_, at)[0]
        account.lifetime_earned += points
        account.growth_lifetime += growth
        points_entry = growth_entry = lot = None
        growth_balance = 0
        if points:
            points_entry, _ = self._entry(account, op_id, "points", bucket, "earn", points, reason_code, reason, at,
                                          source_type, source_id)
        if growth:
            growth_entry, growth_balance = self._entry(account, op_id, "growth", "available", "earn", growth,
                                                       reason_code, reason, at, source_type, source_id)
        if points:
            lot = Lot()
            lot.id, lot.member_id, lot.entry_id, lot.amount, lot.remaining = next(self._lot_ids), member_id, \
                points_entry, points, points
            lot.earned_at, lot.listed = at, False
            lot.available_at = at + timedelta(days=hold_days) if bucket == "pending" else None
            lot.expires_at = self.expiry(lot.available_at or at)
            self.lots.append(lot)
            if bucket == "pending":
                lot.status = "pending"
                account.held.append(lot)
                self.due_release.setdefault(self.job_day(lot.available_at), set()).add(member_id)
            else:
                lot.status = "active"
                self._list(account, lot)
        if growth:
            self.on_growth(account, growth_balance, growth, reason_code, at)
        return points_entry, growth_entry, lot

    # ---- settle: due holds released, due lots expired, in the acting operation

    def _release(self, account: Account, op_id: int, lot: Lot, at: datetime) -> None:
        lot.status = "active"
        account.held.remove(lot)
        if lot.remaining:
            source = str(lot.id)
            self._entry(account, op_id, "points", "pending", "release", -lot.remaining, "pending_released",
                        "待入账积分转为可用", at, "lot", source, lot_id=lot.id)
            self._entry(account, op_id, "points", "available", "release", lot.remaining, "pending_released",
                        "待入账积分到账", at, "lot", source, lot_id=lot.id)
            self._list(account, lot)

    def _expire(self, account: Account, op_id: int, lot: Lot, amount: int, at: datetime) -> None:
        lot.remaining -= amount
        lot.status = "expired"
        account.expired += amount
        self._entry(account, op_id, "points", "available", "expire", -amount, "points_expired", "积分到期", at,
                    "lot", str(lot.id), lot_id=lot.id)
        self._unlist(account, lot)

    def _due_holds(self, account: Account, at: datetime) -> list[Lot]:
        return [lot for lot in account.held if lot.available_at <= at]

    def _due_lots(self, account: Account, at: datetime) -> list[Lot]:
        due = []
        for lot in account.spendable:
            if lot.expires_at is None or lot.expires_at > at:
                break
            due.append(lot)
        return sorted(due, key=lambda lot: lot.id)

    def settle(self, account: Account, op_id: int, at: datetime) -> None:
        for lot in self._due_holds(account, at):
            self._release(account, op_id, lot, at)
        for lot in self._due_lots(account, at):
            self._expire(account, op_id, lot, lot.remaining, at)

    def spendable_at(self, account: Account, at: datetime) -> int:
        """The available balance a spend at `at` would see, once settled."""
        released = sum(lot.remaining for lot in self._due_holds(account, at))
        expiring = sum(lot.remaining for lot in account.spendable if lot.expires_at is not None and lot.expires_at <= at)
        return account.available + released - expiring

    # ---- spend and reversals

    def _take(self, account: Account, entry_id: int, amount: int, lots: list[Lot]) -> list:
        taken, left = [], amount
        for lot in lots:
            if left == 0:
                break
            part = min(lot.remaining, left)
            if part <= 0:
                continue
            lot.remaining -= part
            row = [next(self._allocation_ids), entry_id, lot.id, part, 0]
            self.allocations.append(row)
            taken.append([row, lot])
            left -= part
        for _, lot in taken:
            self._unlist(account, lot)
        return taken

    def spend(self, account: Account, amount: int, *, key: str, reason_code: str, reason: str, at: datetime,
              source_type: str | None = None, source_id: str | None = None, kind: str = "spend") -> Spend | None:
        """`service.spend`; None (and nothing written) when the settled balance is short."""
        if self.spendable_at(account, at) < amount:
            return None
        print_ = fingerprint(kind, account.member_id, amount=amount, reason_code=reason_code,
                             source_type=source_type, source_id=source_id)
        op_id = self.operation(key, account.member_id, kind, print_, at)[0]
        self.settle(account, op_id, at)
        entry_id, _ = self._entry(account, op_id, "points", "available", kind, -amount, reason_code, reason, at,
                                  source_type, source_id)
        taken = self._take(account, entry_id, amount, list(account.spendable))
        if kind == "spend":
            account.lifetime_spent += amount
        return Spend(entry_id, amount, taken)

    def _reversal_op(self, account: Account, entry_id: int, amount: int, key: str, reason_code: str,
                     at: datetime) -> list:
        print_ = fingerprint("reverse", account.member_id, entry=entry_id, amount=amount, reason_code=reason_code)
        op = self.operation(key, account.member_id, "reverse", print_, at)
        self.settle(account, op[0], at)
        return op

    def _record_reversal(self, op: list, entry_id: int, requested: int, taken: int, at: datetime) -> None:
        self.reversals.append((next(self._reversal_ids), entry_id, op[0], requested, taken, at))
        op[5] = json.dumps({"entry_id": entry_id, "requested": requested, "taken": taken,
                            "shortfall": requested - taken})

    def give_back(self, account: Account, spend: Spend, amount: int, *, key: str, reason: str, reason_code: str,
                  at: datetime) -> int:
        """Reverse (part of) a spend: the points go back to the lots it took, last taken first."""
        op = self._reversal_op(account, spend.entry_id, amount, key, reason_code, at)
        restored, left = [], amount
        for row, lot in reversed(spend.allocations):
            if left == 0:
                break
            part = min(row[3] - row[4], left)
            if part <= 0:
                continue
            row[4] += part
            lot.remaining += part
            restored.append((lot, part))
            left -= part
        self._entry(account, op[0], "points", "available", "reversal", amount, reason_code, reason, at, "entry",
                    str(spend.entry_id), reverses=spend.entry_id)
        account.lifetime_spent -= amount
        for lot, part in restored:
            if lot.expires_at is not None and lot.expires_at <= at:
                self._expire(account, op[0], lot, part, at)
            elif lot.status == "active":
                self._list(account, lot)
        spend.asked += amount
        self._record_reversal(op, spend.entry_id, amount, amount, at)
        return amount

    def claw_back(self, account: Account, entry_id: int, lot: Lot | None, amount: int, *, key: str, reason: str,
                  reason_code: str, at: datetime) -> int:
        """Reverse (part of) a points earn: a held lot is cancelled; available points are taken from
        the earn's own lot first, then the soonest-expiring others, stopping at a zero balance."""
        op = self._reversal_op(account, entry_id, amount, key, reason_code, at)
        common = (reason_code, reason, at, "entry", str(entry_id))
        if lot is not None and lot.status == "pending":
            taken = min(amount, lot.remaining)
            lot.remaining -= taken
            if lot.remaining == 0:
                lot.status = "cancelled"
                account.held.remove(lot)
            if taken:
                self._entry(account, op[0], "points", "pending", "reversal", -taken, *common, reverses=entry_id,
                            lot_id=lot.id)
                account.lifetime_earned -= taken
        else:
            taken = min(amount, account.available)
            if taken:
                reversal_id, _ = self._entry(account, op[0], "points", "available", "reversal", -taken, *common,
                                             reverses=entry_id)
                own = [lot] if lot is not None and lot.status == "active" and lot.remaining > 0 else []
                others = [other for other in account.spendable if other is not lot]
                self._take(account, reversal_id, taken, own + others)
                account.lifetime_earned -= taken
        self._record_reversal(op, entry_id, amount, taken, at)
        return taken

    def take_back_growth(self, account: Account, entry_id: int, amount: int, *, key: str, reason: str,
                         reason_code: str, at: datetime) -> int:
        """Reverse (part of) a growth earn, down to zero."""
        op = self._reversal_op(account, entry_id, amount, key, reason_code, at)
        taken = min(amount, account.growth)
        if taken:
            _, balance = self._entry(account, op[0], "growth", "available", "reversal", -taken, reason_code, reason,
                                     at, "entry", str(entry_id), reverses=entry_id)
            account.growth_lifetime -= taken
            self.on_growth(account, balance, -taken, reason_code, at)
        self._record_reversal(op, entry_id, amount, taken, at)
        return taken

    def adjust_growth(self, account: Account, amount: int, *, key: str, reason: str, reason_code: str,
                      at: datetime) -> None:
        """`service.adjust(currency="growth")` by the system (no operator): the level-expiry job's."""
        op_id = self.operation(key, account.member_id, "adjust",
                               fingerprint("adjust", account.member_id, growth=amount, reason_code=reason_code), at)[0]
        _, balance = self._entry(account, op_id, "growth", "available", "adjust", amount, reason_code, reason, at,
                                 "operator")
        if amount > 0:
            account.growth_lifetime += amount
        self.on_growth(account, balance, amount, reason_code, at)

    # ---- the nightly job (`maintenance.release_due_pending`, then `expire_due_lots`)

    def release_due(self, accounts: list[Account], at: datetime, run: str) -> None:
        """One batch: an operation per member, then every held-bucket entry, then every available one."""
        moves = []
        for account in accounts:
            due = self._due_holds(account, at)
            if not due:
                continue
            op_id = self.operation(f"release:{run}:{account.member_id}", account.member_id, "release", run, at)[0]
            moves.append((account, op_id, due))
        for account, op_id, due in moves:
            for lot in due:
                if lot.remaining:
                    self._entry(account, op_id, "points", "pending", "release", -lot.remaining, "pending_released",
                                "待入账积分转为可用", at, "lot", str(lot.id), lot_id=lot.id)
        for account, op_id, due in moves:
            for lot in due:
                lot.status = "active"
                account.held.remove(lot)
                if lot.remaining:
                    self._entry(account, op_id, "points", "available", "release", lot.remaining, "pending_released",
                                "待入账积分到账", at, "lot", str(lot.id), lot_id=lot.id)
                    self._list(account, lot)

    def expire_due(self, accounts: list[Account], at: datetime, run: str) -> None:
        for account in accounts:
            due = self._due_lots(account, at)
            if not due:
                continue
            op_id = self.operation(f"expire:{run}:{account.member_id}", account.member_id, "expire", run, at)[0]
            for lot in due:
                self._expire(account, op_id, lot, lot.remaining, at)
