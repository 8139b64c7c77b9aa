"""A store's figures for a period: what its counter did (pickups verified, purchase points awarded,
points taken as payment), the members it served, its clerks, and the pickups still waiting for it.

Read from `staff_actions` (every counter action is recorded there, by store and time, indexed on
`(store_id, created_at)`) in one grouped pass, and from the mall's orders for the waiting pickups.
"""
from __future__ import annotations

from sqlalchemy import text

from app import clock
from app.dashboard.figures import Period, _series
from app.extensions import db
from app.programme import service as programme

_DAILY = text("""
SELECT (created_at AT TIME ZONE :tz)::date AS day,
       count(*) FILTER (WHERE action = 'pickup_confirm') AS pickups,
       count(*) FILTER (WHERE action = 'points_award') AS awards,
       count(*) FILTER (WHERE action = 'points_deduct') AS deductions,
       coalesce(sum((detail ->> 'points')::bigint) FILTER (WHERE action = 'points_award'), 0) AS points_awarded,
       coalesce(sum((detail ->> 'points')::bigint) FILTER (WHERE action = 'points_deduct'), 0) AS points_deducted
FROM staff_actions
WHERE store_id = :store AND created_at >= :start AND created_at < :end
GROUP BY 1
""")

_SERVED = text("""
SELECT count(DISTINCT member_id) FROM staff_actions
WHERE store_id = :store AND created_at >= :start AND created_at < :end AND member_id IS NOT NULL
  AND action IN ('pickup_confirm', 'points_award', 'points_deduct')
""")

_CLERKS = text("""
SELECT s.id, s.display_name,
       count(*) FILTER (WHERE a.action = 'pickup_confirm') AS pickups,
       count(*) FILTER (WHERE a.action = 'points_award') AS awards,
       count(*) FILTER (WHERE a.action = 'points_deduct') AS deductions
FROM staff_actions a JOIN staff s ON s.id = a.staff_id
WHERE a.store_id = :store AND a.created_at >= :start AND a.created_at < :end
  AND a.action IN ('pickup_confirm', 'points_award', 'points_deduct')
GROUP BY s.id, s.display_name ORDER BY count(*) DESC, s.id LIMIT 20
""")

# Pickups waiting for this store: paid pickup orders of items the store holds, not yet fulfilled.
_WAITING = text("""
SELECT count(*) AS orders, coalesce(sum(o.quantity), 0) AS units,
       count(*) FILTER (WHERE o.pickup_expires_at < :now + interval '3 days') AS expiring_soon
FROM mall_orders o JOIN mall_item_stores s ON s.item_id = o.item_id AND s.store_id = :store
WHERE o.status = 'awaiting_pickup'
""")

_FIELDS = ("pickups", "awards", "deductions", "points_awarded", "points_deducted")


def store_figures(store_id: int, period: Period) -> dict:
    """The store's counter over `period`: totals, a daily series, its clerks, and waiting pickups."""
    params = {"store": store_id, "start": period.start_at, "end": period.end_at, "tz": clock.zone().key}
    daily = _series(period, db.session.execute(_DAILY, params).all(), *_FIELDS)
    totals = {name: sum(day[name] for day in daily) for name in _FIELDS}
    waiting = db.session.execute(_WAITING, {"store": store_id, "now": clock.now()}).mappings().one()
    view = programme.current()
    return {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "totals": {**totals, "members_served": int(db.session.scalar(_SERVED, params)),
                   "deducted_money_cents": view.money_cents(totals["points_deducted"])},
        "daily": daily,
        "clerks": [dict(row) for row in db.session.execute(_CLERKS, params).mappings()],
        "waiting_pickups": {name: int(value) for name, value in waiting.items()},
    }
