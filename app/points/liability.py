"""The programme's books: outstanding points and their money value, and a period's flows.

issued   = points earned (held or available) plus positive adjustments, less earns clawed back;
spent    = points spent, less spends refunded;
expired  = points expired;
redemption rate = spent / issued; breakage rate = expired / issued (None when nothing was issued).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from app.extensions import db
from app.programme import service as programme

_OUTSTANDING = text("SELECT coalesce(sum(available), 0), coalesce(sum(pending), 0), count(*) FROM point_accounts")

# The period's flows, one expression each; the dashboard's daily series groups the same by day.
_FLOW_COLUMNS = """
  coalesce(sum(e.amount) FILTER (WHERE e.kind IN ('earn', 'adjust') AND e.amount > 0), 0)
  + coalesce(sum(e.amount) FILTER (WHERE e.kind = 'reversal' AND o.amount > 0), 0) AS issued,
  coalesce(-sum(e.amount) FILTER (WHERE e.kind = 'spend'), 0)
  - coalesce(sum(e.amount) FILTER (WHERE e.kind = 'reversal' AND o.kind = 'spend'), 0) AS spent,
  coalesce(-sum(e.amount) FILTER (WHERE e.kind = 'expire'), 0) AS expired,
  coalesce(-sum(e.amount) FILTER (WHERE e.kind IN ('penalty', 'adjust') AND e.amount < 0), 0)
  - coalesce(sum(e.amount) FILTER (WHERE e.kind = 'reversal' AND o.kind IN ('penalty', 'adjust') AND o.amount < 0), 0) AS deducted
"""
_FLOW_ROWS = """
FROM ledger_entries e
LEFT JOIN ledger_entries o ON o.id = e.reverses_entry_id
WHERE e.currency = 'points' AND e.kind <> 'release'
  AND e.created_at >= :start AND e.created_at < :end
"""
_FLOWS = text("SELECT" + _FLOW_COLUMNS + _FLOW_ROWS)
_DAILY_FLOWS = text("SELECT (e.created_at AT TIME ZONE :tz)::date AS day," + _FLOW_COLUMNS + _FLOW_ROWS + "GROUP BY 1")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def liability(start: datetime, end: datetime, *, flows: dict | None = None) -> dict:
    """Outstanding points now, and the flows of [start, end): computed here, or given as the sums of
    this module's daily flows over the same days (the dashboard's kept days)."""
    view = programme.current()
    available, pending, accounts = db.session.execute(_OUTSTANDING).one()
    if flows is None:
        flows = db.session.execute(_FLOWS, {"start": start, "end": end}).mappings().one()
    issued, spent, expired = int(flows["issued"]), int(flows["spent"]), int(flows["expired"])
    return {
        "points_name": view.points_name,
        "points_per_yuan": view.points_per_yuan,
        "outstanding": {
            "available": int(available), "pending": int(pending), "total": int(available + pending),
            "money_cents": view.money_cents(int(available + pending)), "accounts": int(accounts),
        },
        "period": {
            "start": start.isoformat(), "end": end.isoformat(),
            "issued": issued, "spent": spent, "expired": expired, "deducted": int(flows["deducted"]),
            "issued_money_cents": view.money_cents(issued), "spent_money_cents": view.money_cents(spent),
            "expired_money_cents": view.money_cents(expired),
            "redemption_rate": _rate(spent, issued), "breakage_rate": _rate(expired, issued),
        },
    }


def daily_flows(start: datetime, end: datetime, zone: str) -> list:
    """The period's flows per business day in `zone` (rows of day, issued, spent, expired, deducted)."""
    return db.session.execute(_DAILY_FLOWS, {"start": start, "end": end, "tz": zone}).all()
