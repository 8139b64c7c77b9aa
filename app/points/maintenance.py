"""Batch jobs over every member, in set-based SQL: expire due lots, release due pending points,
forfeit the points of closed (erased) accounts.

Each batch is one transaction: it locks the accounts of up to `batch` members (in member order,
so batches never deadlock with each other; a member's own actions lock only their own account),
then one statement writes every entry, lot change and balance for the batch. A run is idempotent:
a lot once expired or released is no longer due.
"""
from __future__ import annotations

import uuid

from sqlalchemy import text

from app import clock
from app.extensions import db

_LOCK_DUE = """
SELECT member_id FROM point_accounts
WHERE member_id IN (SELECT DISTINCT member_id FROM points_lots WHERE {due} LIMIT :batch)
ORDER BY member_id FOR UPDATE
"""

_EXPIRE_DUE = text("""
WITH due AS (
    SELECT id, member_id, remaining FROM points_lots
    WHERE status = 'active' AND remaining > 0 AND expires_at <= :now AND member_id = ANY(:members)
), per_member AS (
    SELECT member_id, sum(remaining) AS total FROM due GROUP BY member_id
), ops AS (
    INSERT INTO ledger_operations (key, member_id, action, fingerprint, created_at)
    SELECT 'expire:' || :run || ':' || member_id, member_id, 'expire', :run, :now FROM per_member
    RETURNING id, member_id
), acct AS (
    UPDATE point_accounts a SET available = a.available - p.total, expired = a.expired + p.total, updated_at = :now
    FROM per_member p WHERE a.member_id = p.member_id
    RETURNING a.member_id, a.available + p.total AS before
), lots AS (
    UPDATE points_lots l SET remaining = 0, status = 'expired' FROM due WHERE l.id = due.id RETURNING l.id
), entries AS (
    INSERT INTO ledger_entries (member_id, operation_id, currency, bucket, kind, amount, balance_after,
                                reason_code, reason, source_type, source_id, lot_id, created_at)
    SELECT d.member_id, o.id, 'points', 'available', 'expire', -d.remaining,
           a.before - sum(d.remaining) OVER (PARTITION BY d.member_id ORDER BY d.id),
           'points_expired', '积分到期', 'lot', d.id::text, d.id, :now
    FROM due d JOIN ops o USING (member_id) JOIN acct a USING (member_id)
    RETURNING amount
)
SELECT count(*) AS lots, coalesce(-sum(amount), 0) AS points, (SELECT count(*) FROM lots) AS touched FROM entries
""")

_RELEASE_DUE = text("""
WITH due AS (
    SELECT id, member_id, remaining FROM points_lots
    WHERE status = 'pending' AND available_at <= :now AND member_id = ANY(:members)
), per_member AS (
    SELECT member_id, sum(remaining) AS total FROM due GROUP BY member_id
), ops AS (
    INSERT INTO ledger_operations (key, member_id, action, fingerprint, created_at)
    SELECT 'release:' || :run || ':' || member_id, member_id, 'release', :run, :now FROM per_member
    RETURNING id, member_id
), acct AS (
    UPDATE point_accounts a SET pending = a.pending - p.total, available = a.available + p.total, updated_at = :now
    FROM per_member p WHERE a.member_id = p.member_id
    RETURNING a.member_id, a.pending + p.total AS pending_before, a.available - p.total AS available_before
), lots AS (
    UPDATE points_lots l SET status = 'active' FROM due WHERE l.id = due.id RETURNING l.id
), moves AS (
    SELECT d.id, d.member_id, d.remaining, o.id AS op_id,
           sum(d.remaining) OVER (PARTITION BY d.member_id ORDER BY d.id) AS running,
           a.pending_before, a.available_before
    FROM due d JOIN ops o USING (member_id) JOIN acct a USING (member_id)
    WHERE d.remaining > 0
), entries AS (
    INSERT INTO ledger_entries (member_id, operation_id, currency, bucket, kind, amount, balance_after,
                                reason_code, reason, source_type, source_id, lot_id, created_at)
    SELECT member_id, op_id, 'points', 'pending', 'release', -remaining, pending_before - running,
           'pending_released', '待入账积分转为可用', 'lot', id::text, id, :now FROM moves
    UNION ALL
    SELECT member_id, op_id, 'points', 'available', 'release', remaining, available_before + running,
           'pending_released', '待入账积分到账', 'lot', id::text, id, :now FROM moves
    RETURNING amount
)
SELECT (SELECT count(*) FROM lots) AS lots, coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS points FROM entries
""")

# A closed account's points are forfeited (账号注销,积分清零): every lot with points left, available
# or pending, is expired at once, as entries of kind `expire` in its own bucket, so the books count
# them as breakage and they leave the outstanding liability.
_FORFEIT_CLOSED = text("""
WITH due AS (
    SELECT id, member_id, remaining, CASE WHEN status = 'pending' THEN 'pending' ELSE 'available' END AS bucket
    FROM points_lots
    WHERE status IN ('active', 'pending') AND remaining > 0 AND member_id = ANY(:members)
      AND member_id IN (SELECT id FROM members WHERE status = 'erased')
), per_member AS (
    SELECT member_id, coalesce(sum(remaining) FILTER (WHERE bucket = 'available'), 0) AS available,
           coalesce(sum(remaining) FILTER (WHERE bucket = 'pending'), 0) AS pending
    FROM due GROUP BY member_id
), ops AS (
    INSERT INTO ledger_operations (key, member_id, action, fingerprint, created_at)
    SELECT 'forfeit:' || :run || ':' || member_id, member_id, 'forfeit', :run, :now FROM per_member
    RETURNING id, member_id
), acct AS (
    UPDATE point_accounts a SET available = a.available - p.available, pending = a.pending - p.pending,
                                expired = a.expired + p.available + p.pending, updated_at = :now
    FROM per_member p WHERE a.member_id = p.member_id
    RETURNING a.member_id, a.available + p.available AS available_before, a.pending + p.pending AS pending_before
), lots AS (
    UPDATE points_lots l SET remaining = 0, status = 'expired' FROM due WHERE l.id = due.id RETURNING l.id
), entries AS (
    INSERT INTO ledger_entries (member_id, operation_id, currency, bucket, kind, amount, balance_after,
                                reason_code, reason, source_type, source_id, lot_id, created_at)
    SELECT d.member_id, o.id, 'points', d.bucket, 'expire', -d.remaining,
           CASE WHEN d.bucket = 'pending' THEN a.pending_before ELSE a.available_before END
           - sum(d.remaining) OVER (PARTITION BY d.member_id, d.bucket ORDER BY d.id),
           'account_closed', '账号注销,积分作废', 'lot', d.id::text, d.id, :now
    FROM due d JOIN ops o USING (member_id) JOIN acct a USING (member_id)
    RETURNING amount
)
SELECT count(*) AS lots, coalesce(-sum(amount), 0) AS points FROM entries
""")

_DUE_EXPIRY = "status = 'active' AND remaining > 0 AND expires_at <= :now"
_DUE_RELEASE = "status = 'pending' AND available_at <= :now"
_DUE_FORFEIT = ("status IN ('active', 'pending') AND remaining > 0 "
                "AND member_id IN (SELECT id FROM members WHERE status = 'erased')")


def expire_due_lots(batch: int = 1000) -> dict[str, int]:
    """Expire every lot past its expiry. Returns how many lots and points expired."""
    return _run(_DUE_EXPIRY, _EXPIRE_DUE, batch)


def release_due_pending(batch: int = 1000) -> dict[str, int]:
    """Make every pending lot whose hold has ended available. Returns lots and points released."""
    return _run(_DUE_RELEASE, _RELEASE_DUE, batch)


def forfeit_closed_accounts(batch: int = 1000) -> dict[str, int]:
    """Forfeit what closed accounts still hold: a member's erasure does it at once (`forfeit_member`);
    this catches an earn that was already on its way when the member was erased, a forfeiture
    that failed, and accounts erased before forfeiting existed."""
    return _run(_DUE_FORFEIT, _FORFEIT_CLOSED, batch)


def forfeit_member(member_id: int) -> int:
    """For an erased member, in a transaction that has locked their account: forfeit all their
    points. Returns the points forfeited."""
    row = db.session.execute(_FORFEIT_CLOSED, {"now": clock.now(), "members": [member_id],
                                               "run": uuid.uuid4().hex}).one()
    return int(row.points)


def _run(due: str, statement, batch: int) -> dict[str, int]:
    totals = {"lots": 0, "points": 0, "batches": 0}
    lock = text(_LOCK_DUE.format(due=due))
    while True:
        at = clock.now()
        members = [row[0] for row in db.session.execute(lock, {"now": at, "batch": batch})]
        if not members:
            db.session.rollback()
            return totals
        row = db.session.execute(statement, {"now": at, "members": members, "run": uuid.uuid4().hex}).one()
        db.session.commit()
        totals["lots"] += int(row.lots)
        totals["points"] += int(row.points)
        totals["batches"] += 1
