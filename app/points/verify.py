"""The verifier: recompute every account from its entries and lots, and list what differs.

Checks, per member: each balance (available, pending, growth) equals the sum of its entries and the
last entry's `balance_after`; available and pending equal the remainders of the member's active and
pending lots; no lot holds more than it was given; no spend took points from a lot after it expired.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from app.extensions import db

_ACCOUNT_MISMATCHES = text("""
WITH sums AS (
    SELECT member_id,
           coalesce(sum(amount) FILTER (WHERE currency = 'points' AND bucket = 'available'), 0) AS available,
           coalesce(sum(amount) FILTER (WHERE currency = 'points' AND bucket = 'pending'), 0) AS pending,
           coalesce(sum(amount) FILTER (WHERE currency = 'growth'), 0) AS growth,
           coalesce(-sum(amount) FILTER (WHERE kind = 'expire'), 0) AS expired
    FROM ledger_entries GROUP BY member_id
), lots AS (
    SELECT member_id,
           coalesce(sum(remaining) FILTER (WHERE status = 'active'), 0) AS available,
           coalesce(sum(remaining) FILTER (WHERE status = 'pending'), 0) AS pending,
           count(*) FILTER (WHERE status IN ('expired', 'cancelled') AND remaining <> 0) AS dead_with_points
    FROM points_lots GROUP BY member_id
), last AS (
    SELECT DISTINCT ON (member_id, currency, bucket) member_id, currency, bucket, balance_after
    FROM ledger_entries ORDER BY member_id, currency, bucket, id DESC
), lasts AS (
    SELECT member_id,
           max(balance_after) FILTER (WHERE currency = 'points' AND bucket = 'available') AS available,
           max(balance_after) FILTER (WHERE currency = 'points' AND bucket = 'pending') AS pending,
           max(balance_after) FILTER (WHERE currency = 'growth') AS growth
    FROM last GROUP BY member_id
)
SELECT coalesce(a.member_id, s.member_id) AS member_id,
       a.available, a.pending, a.growth, a.expired,
       s.available AS entries_available, s.pending AS entries_pending, s.growth AS entries_growth,
       s.expired AS entries_expired,
       l.available AS lots_available, l.pending AS lots_pending, l.dead_with_points,
       z.available AS last_available, z.pending AS last_pending, z.growth AS last_growth
FROM point_accounts a
FULL JOIN sums s ON s.member_id = a.member_id
LEFT JOIN lots l ON l.member_id = coalesce(a.member_id, s.member_id)
LEFT JOIN lasts z ON z.member_id = coalesce(a.member_id, s.member_id)
WHERE a.member_id IS NULL
   OR a.available <> coalesce(s.available, 0) OR a.pending <> coalesce(s.pending, 0)
   OR a.growth <> coalesce(s.growth, 0) OR a.expired <> coalesce(s.expired, 0)
   OR a.available <> coalesce(l.available, 0) OR a.pending <> coalesce(l.pending, 0)
   OR coalesce(l.dead_with_points, 0) > 0
   OR a.available <> coalesce(z.available, 0) OR a.pending <> coalesce(z.pending, 0)
   OR a.growth <> coalesce(z.growth, 0)
ORDER BY 1
""")

_SPENT_AFTER_EXPIRY = text("""
SELECT e.member_id, e.id AS entry_id, l.id AS lot_id
FROM lot_allocations al
JOIN ledger_entries e ON e.id = al.entry_id
JOIN points_lots l ON l.id = al.lot_id
WHERE l.expires_at IS NOT NULL AND e.created_at >= l.expires_at
ORDER BY e.member_id
""")

_OVER_ALLOCATED = text("""
SELECT l.member_id, l.id AS lot_id
FROM points_lots l
LEFT JOIN (SELECT lot_id, sum(amount - returned) AS held FROM lot_allocations GROUP BY lot_id) al ON al.lot_id = l.id
LEFT JOIN (SELECT lot_id, -sum(amount) AS gone FROM ledger_entries
           WHERE kind = 'expire' OR (kind = 'reversal' AND bucket = 'pending') GROUP BY lot_id) x ON x.lot_id = l.id
WHERE l.remaining + coalesce(al.held, 0) + coalesce(x.gone, 0) <> l.amount
ORDER BY l.member_id
""")


@dataclass
class Discrepancy:
    member_id: int
    problem: str


def verify() -> list[Discrepancy]:
    problems: list[Discrepancy] = []
    for row in db.session.execute(_ACCOUNT_MISMATCHES).mappings():
        details = ", ".join(f"{k}={v}" for k, v in row.items() if k != "member_id")
        problems.append(Discrepancy(row["member_id"], f"balances differ from entries or lots: {details}"))
    for row in db.session.execute(_SPENT_AFTER_EXPIRY).mappings():
        problems.append(Discrepancy(row["member_id"], f"entry {row['entry_id']} took points from lot {row['lot_id']} after it expired"))
    for row in db.session.execute(_OVER_ALLOCATED).mappings():
        problems.append(Discrepancy(row["member_id"], f"lot {row['lot_id']}: remaining + allocated + expired != amount"))
    db.session.rollback()
    return problems
