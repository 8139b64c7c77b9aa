"""Ledger actions the rest of the product calls: earn, spend, reverse, adjust, penalise.

Every action takes an idempotency key: the same key again returns the first outcome and writes
nothing; the same key with a different request raises `IdempotencyMismatch`. Amounts are positive
integers; the sign comes from the action.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, literal, select, text

from app import clock, pipeline, signals, sql
from app.audit import recorder as audit
from app.extensions import db
from app.points import posting
from app.points.errors import InsufficientPoints, InvalidAmount, NotReversible
from app.points.models import EntryReversal, LedgerEntry, PointAccount, PointsLot
from app.points.posting import Outcome, PostedEntry, check_amount, claim, fingerprint, lock_account
from app.programme import service as programme

# The ledger's part of an earn, as the CTEs a statement can end with: claim the key, move the
# balances (this row lock is the only lock taken, and it is held for one statement plus the
# commit), append the entries, open the lot. `{key}` is the key's SQL, `{source}` the clause that
# gives the operation its row (or none: then nothing is written). `earn` runs it on its own; the
# earning engine after recording an event in the same statement. Parameters: `earn_params`.
EARN_CTES = """
op AS (
    INSERT INTO ledger_operations (key, member_id, action, fingerprint, created_at)
    SELECT {key}, :member_id, 'earn', :fingerprint, :now {source}
    ON CONFLICT (key) DO NOTHING
    RETURNING id
), acct AS (
    INSERT INTO point_accounts AS a (member_id, available, pending, lifetime_earned, expired, lifetime_spent,
                                     growth, growth_lifetime, updated_at)
    SELECT :member_id, :available, :pending, :points, 0, 0, :growth, :growth, :now FROM op
    ON CONFLICT (member_id) DO UPDATE SET
        available = a.available + excluded.available, pending = a.pending + excluded.pending,
        lifetime_earned = a.lifetime_earned + excluded.lifetime_earned,
        growth = a.growth + excluded.growth, growth_lifetime = a.growth_lifetime + excluded.growth_lifetime,
        updated_at = excluded.updated_at
    RETURNING a.available, a.pending, a.growth
), e AS (
    INSERT INTO ledger_entries (member_id, operation_id, currency, bucket, kind, amount, balance_after,
                                reason_code, reason, source_type, source_id, operator_id, created_at)
    SELECT :member_id, op.id, v.currency, v.bucket, :kind, v.amount,
           CASE WHEN v.currency = 'growth' THEN acct.growth WHEN v.bucket = 'pending' THEN acct.pending
                ELSE acct.available END,
           :reason_code, :reason, :source_type, :source_id, :operator_id, :now
    FROM op, acct, (VALUES ('points', CAST(:bucket AS varchar), CAST(:points AS bigint)),
                           ('growth', 'available', CAST(:growth AS bigint))) AS v(currency, bucket, amount)
    WHERE v.amount > 0
    RETURNING id, currency, bucket, amount, balance_after
), lot AS (
    INSERT INTO points_lots (member_id, earn_entry_id, amount, remaining, status, earned_at, available_at, expires_at)
    SELECT :member_id, e.id, e.amount, e.amount, CASE WHEN e.bucket = 'pending' THEN 'pending' ELSE 'active' END,
           :now, :available_at, :expires_at
    FROM e WHERE e.currency = 'points'
    RETURNING id, earn_entry_id
)"""

_EARN_SQL = sql.statement("WITH " + EARN_CTES.format(
    key=":key", source="WHERE EXISTS (SELECT 1 FROM members WHERE id = :member_id AND status = 'active')") + """
SELECT op.id AS op_id, e.id, e.currency, e.bucket, e.amount, e.balance_after, lot.id AS lot_id
FROM op JOIN e ON true LEFT JOIN lot ON lot.earn_entry_id = e.id
ORDER BY e.id
""")


def earn_params(member_id: int, points: int, *, reason_code: str, reason: str, growth: int = 0, hold_days: int = 0,
                source_type: str | None = None, source_id: str | None = None, operator_id: int | None = None,
                kind: str = "earn") -> dict:
    """Check an earn and give the parameters of `EARN_CTES` (all but the key)."""
    check_amount(points, allow_zero=True)
    check_amount(growth, allow_zero=True)
    if points == 0 and growth == 0:
        raise InvalidAmount()
    if not isinstance(hold_days, int) or isinstance(hold_days, bool) or not 0 <= hold_days <= 366:
        raise InvalidAmount("待入账天数须在 0 到 366 之间", code="invalid_hold_days")
    at = clock.now()
    bucket = "pending" if hold_days and points else "available"
    available_at = at + timedelta(days=hold_days) if bucket == "pending" else None
    return {
        "member_id": member_id, "now": at, "kind": kind, "bucket": bucket, "points": points, "growth": growth,
        "fingerprint": fingerprint("earn", member_id, points=points, growth=growth, hold_days=hold_days,
                                   reason_code=reason_code, source_type=source_type, source_id=source_id, kind=kind),
        "available": points if bucket == "available" else 0, "pending": points if bucket == "pending" else 0,
        "reason_code": reason_code, "reason": reason, "source_type": source_type,
        "source_id": None if source_id is None else str(source_id), "operator_id": operator_id,
        "available_at": available_at, "expires_at": programme.current().lot_expiry(available_at or at),
    }


def earn(member_id: int, points: int = 0, *, key: str, reason_code: str, reason: str, growth: int = 0,
         hold_days: int = 0, source_type: str | None = None, source_id: str | None = None,
         operator_id: int | None = None, kind: str = "earn", commit: bool = True,
         announce_growth: bool = True) -> Outcome:
    """Give points (in a lot that expires by the programme's policy) and/or growth value.

    With `announce_growth=False` (and `commit=False`) the caller tells listeners about the growth
    itself, by `announce_growth` before it commits (the earning engine does, once per event).

    With `hold_days` the points are pending until then: not spendable, released by themselves
    when due, and cancellable by reversing the entry (a refund inside the return window)."""
    params = earn_params(member_id, points, reason_code=reason_code, reason=reason, growth=growth,
                         hold_days=hold_days, source_type=source_type, source_id=source_id, operator_id=operator_id,
                         kind=kind)
    # An earn that is all its transaction does, with nothing to decide before the commit, runs as
    # one statement that commits by itself (`app.pipeline`): the account row is locked only while
    # the server runs it. Not inside an open transaction: a replay must not commit a caller's writes.
    alone = commit and not (growth and announce_growth) and not db.session().in_transaction()
    if alone:
        rows = pipeline.send([(_EARN_SQL, {**params, "key": key})], commit=True, all_rows=True)
    else:
        rows = db.session.execute(_EARN_SQL, {**params, "key": key}).all()
    if not rows:
        db.session.rollback()
        existing = db.session.execute(text("SELECT 1 FROM ledger_operations WHERE key = :key"), {"key": key}).scalar()
        if existing is None:
            lock_account(member_id)  # raises UnknownMember for a missing or erased member
            raise RuntimeError("earn wrote nothing for an active member")  # pragma: no cover
        return posting.replay(key, params["fingerprint"])
    for row in rows:
        if row.currency == "growth" and announce_growth:
            _growth_changed(member_id, row.balance_after, row.amount, reason_code)
    if commit and not alone:  # first: the member's account row stays locked until the commit
        db.session.commit()
    return Outcome(rows[0].op_id, [PostedEntry(r.id, r.currency, r.bucket, kind, r.amount, r.balance_after, r.lot_id)
                                   for r in rows])


# A spend in one statement, run while holding the member's account lock (so its snapshot sees every
# committed change to that member's lots): claim the key, move the balance, append the entry, take
# from the soonest-expiring lots and record which. It writes nothing (and returns no row) when the
# key was used, the balance is short, the member is not active, or some lot is due to be released
# or expired; the careful path below handles those.
_SPEND_SQL = sql.statement("""
WITH ready AS (
    SELECT 1 FROM point_accounts a
    WHERE a.member_id = :member_id AND a.available >= :amount
      AND EXISTS (SELECT 1 FROM members WHERE id = :member_id AND status = 'active')
      AND NOT EXISTS (SELECT 1 FROM points_lots WHERE member_id = :member_id AND (
            (status = 'active' AND remaining > 0 AND expires_at <= :now) OR (status = 'pending' AND available_at <= :now)))
), op AS (
    INSERT INTO ledger_operations (key, member_id, action, fingerprint, created_at)
    SELECT :key, :member_id, :kind, :fingerprint, :now FROM ready
    ON CONFLICT (key) DO NOTHING
    RETURNING id
), acct AS (
    UPDATE point_accounts SET available = available - :amount, lifetime_spent = lifetime_spent + :spent,
                              updated_at = :now
    WHERE member_id = :member_id AND EXISTS (SELECT 1 FROM op)
    RETURNING available
), e AS (
    INSERT INTO ledger_entries (member_id, operation_id, currency, bucket, kind, amount, balance_after,
                                reason_code, reason, source_type, source_id, operator_id, created_at)
    SELECT :member_id, op.id, 'points', 'available', :kind, -CAST(:amount AS bigint), acct.available,
           :reason_code, :reason, :source_type, :source_id, :operator_id, :now
    FROM op, acct
    RETURNING id, balance_after
), lots AS (
    SELECT id, remaining, sum(remaining) OVER (ORDER BY expires_at NULLS LAST, id) AS running
    FROM points_lots WHERE member_id = :member_id AND status = 'active' AND remaining > 0
), take AS (
    SELECT id, least(remaining, :amount - (running - remaining)) AS part FROM lots WHERE running - remaining < :amount
), moved AS (
    UPDATE points_lots l SET remaining = l.remaining - t.part FROM take t
    WHERE l.id = t.id AND EXISTS (SELECT 1 FROM e)
    RETURNING l.id
), allocated AS (
    INSERT INTO lot_allocations (entry_id, lot_id, amount, returned)
    SELECT e.id, t.id, t.part, 0 FROM e, take t
    RETURNING id
)
SELECT op.id AS op_id, e.id AS entry_id, e.balance_after FROM op, e
""")


def account_lock(member_id: int):
    """A scalar subquery that locks the member's account row (1 when it exists), for a caller that
    reads other things first and spends later in the same transaction: pass what it gave to
    `spend(..., account_locked=...)` and the spend skips its own locking statement."""
    return (select(literal(1)).select_from(PointAccount).where(PointAccount.member_id == member_id)
            .with_for_update().scalar_subquery())


def spend(member_id: int, amount: int, *, key: str, reason_code: str, reason: str,
          source_type: str | None = None, source_id: str | None = None, operator_id: int | None = None,
          kind: str = "spend", commit: bool = True, account_locked: int | None = None) -> Outcome:
    """Take points from the lots that expire first. Raises `InsufficientPoints` and writes nothing
    (the key stays free) when the available balance is short.

    The member's account row is locked first (here, or by the caller through `account_lock`), then
    the key claimed (the same order everywhere a spend happens), and the common case is one
    statement; the rest goes the careful way."""
    check_amount(amount)
    print_ = fingerprint(kind, member_id, amount=amount, reason_code=reason_code,
                         source_type=source_type, source_id=source_id)
    locked = account_locked if account_locked is not None else db.session.execute(
        select(account_lock(member_id))).scalar()
    if locked:
        row = db.session.execute(_SPEND_SQL, {
            "member_id": member_id, "amount": amount, "now": clock.now(), "key": key, "kind": kind,
            "fingerprint": print_, "spent": amount if kind == "spend" else 0, "reason_code": reason_code,
            "reason": reason, "source_type": source_type, "source_id": None if source_id is None else str(source_id),
            "operator_id": operator_id}).first()
        if row is not None:
            outcome = Outcome(row.op_id, [PostedEntry(row.entry_id, "points", "available", kind, -amount,
                                                      row.balance_after)])
            if commit:
                db.session.commit()
            return outcome
    return _spend_carefully(member_id, amount, key=key, print_=print_, reason_code=reason_code, reason=reason,
                            source_type=source_type, source_id=source_id, operator_id=operator_id, kind=kind,
                            commit=commit)


def _spend_carefully(member_id: int, amount: int, *, key: str, print_: str, reason_code: str, reason: str,
                     source_type: str | None, source_id: str | None, operator_id: int | None, kind: str,
                     commit: bool) -> Outcome:
    """A spend that first creates the account, replays a used key, or settles due lots."""
    claimed = claim(key, member_id, kind, print_)
    if isinstance(claimed, Outcome):
        return claimed
    account = lock_account(member_id)
    posting.settle(account, claimed)
    if account.available < amount:
        available = account.available
        db.session.rollback()
        raise InsufficientPoints(details={"available": available, "required": amount})
    entry = posting.write_entry(account, claimed, currency="points", bucket="available", kind=kind, amount=-amount,
                                reason_code=reason_code, reason=reason, source_type=source_type,
                                source_id=source_id, operator_id=operator_id)
    posting.take_from_lots(entry, amount, posting.spendable_lots(member_id))
    if kind == "spend":
        account.lifetime_spent += amount
    outcome = _outcome(claimed)
    if commit:
        db.session.commit()
    return outcome


def adjust(member_id: int, amount: int, *, key: str, reason: str, operator_id: int | None,
           currency: str = "points", penalty: bool = False, reason_code: str | None = None,
           commit: bool = True) -> Outcome:
    """An operator's correction (signed `amount`) or a penalty (always a deduction), with a reason."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise InvalidAmount("调整数量必须是非零整数")
    if penalty and amount > 0:
        amount = -amount
    kind = "penalty" if penalty else "adjust"
    code = reason_code or ("penalty" if penalty else "manual_adjustment")
    source_id = None if operator_id is None else str(operator_id)
    if currency == "growth":
        outcome = _adjust_growth(member_id, amount, key=key, reason=reason, operator_id=operator_id, kind=kind,
                                 code=code, commit=False)
    elif amount > 0:
        outcome = earn(member_id, amount, key=key, reason_code=code, reason=reason, source_type="operator",
                       source_id=source_id, operator_id=operator_id, kind=kind, commit=False)
    else:
        outcome = spend(member_id, -amount, key=key, reason_code=code, reason=reason, source_type="operator",
                        source_id=source_id, operator_id=operator_id, kind=kind, commit=False)
    _audit(member_id, outcome, reason)
    if commit:
        db.session.commit()
    return outcome


def _audit(member_id: int, outcome: Outcome, reason: str) -> None:
    """An operator's ledger change goes in the audit log too, in its transaction (the ledger writes
    in single statements, which the session's own audit watch does not see)."""
    if outcome.replayed:
        return
    for entry in outcome.entries:
        audit.note("ledger_entries", entry.id, "create", before={"balance": entry.balance_after - entry.amount},
                   after={"member_id": member_id, "currency": entry.currency, "bucket": entry.bucket,
                          "kind": entry.kind, "amount": entry.amount, "balance": entry.balance_after, "reason": reason})


def _adjust_growth(member_id: int, amount: int, *, key: str, reason: str, operator_id: int | None,
                   kind: str, code: str, commit: bool) -> Outcome:
    check_amount(abs(amount))
    print_ = fingerprint(kind, member_id, growth=amount, reason_code=code)
    claimed = claim(key, member_id, kind, print_)
    if isinstance(claimed, Outcome):
        return claimed
    account = lock_account(member_id)
    if account.growth + amount < 0:
        growth = account.growth
        db.session.rollback()
        raise InsufficientPoints("成长值不足", code="insufficient_growth", details={"growth": growth})
    posting.write_entry(account, claimed, currency="growth", bucket="available", kind=kind, amount=amount,
                        reason_code=code, reason=reason, source_type="operator", operator_id=operator_id)
    if amount > 0:
        account.growth_lifetime += amount
    _growth_changed(member_id, account.growth, amount, code)
    outcome = _outcome(claimed)
    if commit:
        db.session.commit()
    return outcome


def reverse(entry_id: int, *, key: str, reason: str, amount: int | None = None, operator_id: int | None = None,
            reason_code: str = "reversal", commit: bool = True) -> Outcome:
    """Take back (part of) an entry: a refund of an order, a cancelled purchase, an operator's undo.

    - a spend, a penalty or a negative adjustment: the points go back to the same lots with their
      original expiry; a part whose lot has expired meanwhile is expired again at once;
    - a pending earn: the hold is cancelled;
    - an available earn: the points are clawed back, from its own lot first, then from the
      soonest-expiring others; when the member has spent them, the balance stops at zero and the
      shortfall is recorded (`extra["shortfall"]`);
    - growth: taken back, down to zero.
    The amounts asked back of one entry never add up to more than the entry."""
    original = db.session.get(LedgerEntry, entry_id)
    if original is None:
        raise NotReversible("流水不存在", code="unknown_entry", status=404)
    if original.kind not in ("earn", "spend", "penalty", "adjust"):
        raise NotReversible()
    size = abs(original.amount)
    amount = size if amount is None else check_amount(amount)
    print_ = fingerprint("reverse", original.member_id, entry=entry_id, amount=amount, reason_code=reason_code)
    claimed = claim(key, original.member_id, "reverse", print_)
    if isinstance(claimed, Outcome):
        return claimed
    account = lock_account(original.member_id)
    posting.settle(account, claimed)
    asked = int(db.session.execute(
        select(func.coalesce(func.sum(EntryReversal.requested), 0)).where(EntryReversal.entry_id == entry_id)
    ).scalar_one())
    if asked + amount > size:
        db.session.rollback()
        raise NotReversible("冲正数量超过原流水剩余可冲正数量", code="over_reversal",
                            details={"reversible": size - asked})
    common = dict(reason_code=reason_code, reason=reason, source_type="entry", source_id=str(entry_id),
                  operator_id=operator_id, reverses=entry_id)
    if original.currency == "growth":
        taken = _reverse_growth(account, claimed, original, amount, common)
    elif original.amount < 0:
        taken = _give_back(account, claimed, original, amount, common)
    else:
        taken = _claw_back(account, claimed, original, amount, common)
    db.session.add(EntryReversal(entry_id=entry_id, operation_id=claimed, requested=amount, taken=taken,
                                 created_at=clock.now()))
    extra = {"entry_id": entry_id, "requested": amount, "taken": taken, "shortfall": amount - taken}
    posting.store_result(claimed, extra)
    outcome = _outcome(claimed, extra)
    if commit:
        db.session.commit()
    return outcome


def _reverse_growth(account, op_id, original, amount, common) -> int:
    if original.amount < 0:
        posting.write_entry(account, op_id, currency="growth", bucket="available", kind="reversal", amount=amount, **common)
        _growth_changed(account.member_id, account.growth, amount, common["reason_code"])
        return amount
    taken = min(amount, account.growth)
    if taken:
        posting.write_entry(account, op_id, currency="growth", bucket="available", kind="reversal", amount=-taken, **common)
        account.growth_lifetime -= taken
        _growth_changed(account.member_id, account.growth, -taken, common["reason_code"])
    return taken


def _give_back(account, op_id, original, amount, common) -> int:
    restored = posting.restore_allocations(original, amount)
    posting.write_entry(account, op_id, currency="points", bucket="available", kind="reversal", amount=amount, **common)
    if original.kind == "spend":
        account.lifetime_spent -= amount
    at = clock.now()
    for lot, part in restored:
        if lot.expires_at is not None and lot.expires_at <= at:
            posting.expire_lot(account, op_id, lot, part)
    return amount


def _claw_back(account, op_id, original, amount, common) -> int:
    lot = db.session.execute(select(PointsLot).where(PointsLot.earn_entry_id == original.id)).scalar_one_or_none()
    if lot is not None and lot.status == "pending":
        taken = min(amount, lot.remaining)
        lot.remaining -= taken
        if lot.remaining == 0:
            lot.status = "cancelled"
        if taken:
            posting.write_entry(account, op_id, currency="points", bucket="pending", kind="reversal", amount=-taken,
                                lot_id=lot.id, **common)
            account.lifetime_earned -= taken
        return taken
    wanted = min(amount, account.available)
    if wanted == 0:
        return 0
    entry = posting.write_entry(account, op_id, currency="points", bucket="available", kind="reversal",
                                amount=-wanted, **common)
    own = [lot] if lot is not None and lot.status == "active" and lot.remaining > 0 else []
    others = [candidate for candidate in posting.spendable_lots(account.member_id) if not own or candidate.id != lot.id]
    posting.take_from_lots(entry, wanted, own + others)
    account.lifetime_earned -= wanted
    return wanted


def settle_member(member_id: int) -> None:
    """Release due pending points and expire due lots for one member now (cheap when nothing is due)."""
    at = clock.now()
    due = db.session.execute(text(
        "SELECT 1 FROM points_lots WHERE member_id = :m AND ((status = 'pending' AND available_at <= :now) "
        "OR (status = 'active' AND remaining > 0 AND expires_at <= :now)) LIMIT 1"), {"m": member_id, "now": at}).scalar()
    if not due:
        return
    key = f"settle:{member_id}:{at.isoformat()}"
    claimed = claim(key, member_id, "settle", fingerprint("settle", member_id, at=at))
    if isinstance(claimed, Outcome):
        return
    posting.settle(lock_account(member_id), claimed)
    db.session.commit()


def _growth_changed(member_id: int, growth: int, delta: int, reason_code: str, **known) -> None:
    """Tell listeners (levels) inside this transaction, so a promotion commits with its growth."""
    signals.growth_changed.send(None, member_id=member_id, growth=growth, delta=delta, reason_code=reason_code,
                                **known)


def announce_growth(member_id: int, growth: int, delta: int, reason_code: str, **known) -> None:
    """For a caller of `earn(announce_growth=False)`: tell listeners about growth it earned. With
    `stored_level=`, the member's stored level code (`member_levels`) as read by a statement that
    started after the account lock was taken, so the levels feature need not read it again."""
    _growth_changed(member_id, growth, delta, reason_code, **known)


def _outcome(op_id: int, extra: dict | None = None) -> Outcome:
    db.session.flush()
    rows = db.session.execute(
        select(LedgerEntry, PointsLot.id).outerjoin(PointsLot, PointsLot.earn_entry_id == LedgerEntry.id)
        .where(LedgerEntry.operation_id == op_id).order_by(LedgerEntry.id)
    ).all()
    entries = [PostedEntry(e.id, e.currency, e.bucket, e.kind, e.amount, e.balance_after, lot_id) for e, lot_id in rows]
    return Outcome(op_id, entries, extra=extra or {})
