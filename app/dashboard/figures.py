"""The dashboard's figures, each one set-based SQL over the tables the features write.

Days are business days in the programme's time zone. Points flows come from the same books as the
liability endpoint (`app.points.liability`), so the dashboard and the books cannot disagree; the
daily series of issued / spent / expired add up to the period's totals.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import text

from app import clock
from app.dashboard import rollup
from app.extensions import db
from app.points import liability as books

STOCK_ALERT_SHARE = 0.1  # an item is low when less than a tenth of its stock is left


@dataclass(frozen=True)
class Period:
    start: date  # first business day, inclusive
    end: date    # last business day, inclusive

    @property
    def start_at(self) -> datetime:
        return clock.local_midnight(self.start)

    @property
    def end_at(self) -> datetime:
        return clock.local_midnight(self.end + timedelta(days=1))

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @classmethod
    def last(cls, days: int = 30) -> "Period":
        today = clock.business_date(clock.now())
        return cls(today - timedelta(days=days - 1), today)


def _params(period: Period) -> dict:
    return {"start": period.start_at, "end": period.end_at, "tz": clock.zone().key, "d0": period.start,
            "d1": period.end}


def _series(period: Period, rows, *fields: str) -> list[dict]:
    by_day = {row.day: row for row in rows}
    out = []
    for day in period.days():
        row = by_day.get(day)
        out.append({"day": day.isoformat(), **{f: int(getattr(row, f) or 0) if row else 0 for f in fields}})
    return out


_MEMBERS_BEFORE = text("SELECT count(*) FROM members WHERE created_at < :start")

_MONTHLY_ACTIVE = text("""
SELECT count(DISTINCT member_id) FROM (
    SELECT member_id FROM ledger_entries WHERE created_at >= :end - interval '30 days' AND created_at < :end
    UNION ALL SELECT member_id FROM checkins WHERE day > :d1 - 30 AND day <= :d1) a
""")

_LEVELS = text("""
SELECT d.code, d.name, d.rank, count(m.member_id) AS members,
       (SELECT count(*) FROM level_changes c JOIN level_definitions f ON f.code = c.to_code
        LEFT JOIN level_definitions t ON t.code = c.from_code
        WHERE c.to_code = d.code AND (t.rank IS NULL OR f.rank > t.rank)
          AND c.created_at >= :start AND c.created_at < :end) AS promotions
FROM level_definitions d LEFT JOIN member_levels m ON m.level_code = d.code
GROUP BY d.code, d.name, d.rank ORDER BY d.rank
""")

_FUNNEL = text("""
SELECT (SELECT count(*) FROM touchpoints WHERE kind IN ('poster_scan', 'channel_code') AND at >= :start AND at < :end) AS scans,
       count(*) AS registrations,
       count(*) FILTER (WHERE status <> 'registered') AS qualified,
       count(*) FILTER (WHERE status = 'rewarded') AS rewarded,
       coalesce(sum(inviter_points + invitee_points), 0) AS points_paid
FROM invitations WHERE registered_at >= :start AND registered_at < :end
""")

_TOP_INVITERS = text("""
SELECT i.inviter_id AS member_id, m.nickname, count(*) AS invited,
       count(*) FILTER (WHERE i.status <> 'registered') AS qualified, coalesce(sum(i.inviter_points), 0) AS points
FROM invitations i JOIN members m ON m.id = i.inviter_id
WHERE i.inviter_id IS NOT NULL AND i.registered_at >= :start AND i.registered_at < :end
GROUP BY i.inviter_id, m.nickname ORDER BY qualified DESC, invited DESC, i.inviter_id LIMIT 10
""")

_CHANNELS = text("""
SELECT c.id, c.name, c.kind,
       (SELECT count(*) FROM touchpoints t WHERE t.channel_id = c.id AND t.at >= :start AND t.at < :end) AS scans,
       count(i.id) AS registrations, count(i.id) FILTER (WHERE i.status <> 'registered') AS qualified
FROM channel_codes c LEFT JOIN invitations i ON i.channel_id = c.id AND i.registered_at >= :start AND i.registered_at < :end
GROUP BY c.id, c.name, c.kind ORDER BY registrations DESC, c.id
""")

_BEST_SELLERS = text("""
SELECT i.id, i.sku, i.title, sum(o.quantity) AS quantity, sum(o.points_total) AS points, count(*) AS orders
FROM mall_orders o JOIN mall_items i ON i.id = o.item_id
WHERE o.created_at >= :start AND o.created_at < :end
  AND o.status NOT IN ('cancelled', 'refunded', 'awaiting_payment')
GROUP BY i.id, i.sku, i.title ORDER BY quantity DESC, i.id LIMIT 10
""")

_STOCK_ALERTS = text("""
SELECT id, sku, title, remaining_stock, total_stock FROM mall_items
WHERE status = 'on_sale' AND remaining_stock < greatest(1, ceil(total_stock * :share))
ORDER BY remaining_stock, id
""")

_PUSHES = text("""
SELECT kind, count(*) AS runs, coalesce(sum((summary->>'targeted')::int), 0) AS targeted,
       coalesce(sum((summary->>'sent')::int), 0) AS sent, coalesce(sum((summary->>'failed')::int), 0) AS failed
FROM push_runs WHERE started_at >= :start AND started_at < :end GROUP BY kind ORDER BY kind
""")


# Campaigns running in the period, one row per window (the member day's campaigns per level share it),
# with the mall orders placed and the pushes sent for it.
_CAMPAIGNS = text("""
WITH windows AS (
    SELECT min(id) AS id, string_agg(name, ' / ' ORDER BY multiplier_pct, id) AS name, min(grade) AS grade,
           starts_at, ends_at, max(multiplier_pct) AS multiplier_pct, array_agg(id::text) AS ids,
           string_agg(DISTINCT segment, ',') AS segments
    FROM campaigns WHERE active AND starts_at < :end AND ends_at > :start
    GROUP BY starts_at, ends_at
)
SELECT w.id, w.name, w.grade, w.starts_at, w.ends_at, w.multiplier_pct, w.segments,
       (SELECT count(*) FROM mall_orders o WHERE o.created_at >= w.starts_at AND o.created_at < w.ends_at
          AND o.status NOT IN ('cancelled', 'refunded', 'awaiting_payment')) AS orders,
       (SELECT coalesce(sum((r.summary->>'sent')::int), 0) FROM push_runs r
         WHERE (r.kind = 'member_day' AND r.ref = to_char(w.starts_at AT TIME ZONE :tz, 'YYYY-MM-DD'))
            OR (r.kind = 'campaign' AND split_part(r.ref, ':', 1) = ANY (w.ids))) AS pushed
FROM windows w ORDER BY w.starts_at, w.id
""")

# Birthday gifts by month: how many, their points, the members who came back (earned, spent or
# checked in) within a week of the gift, and the birthday pushes delivered.
_BIRTHDAYS = text("""
WITH gifts AS (
    SELECT g.id, g.member_id, g.amount, g.created_at, (g.created_at AT TIME ZONE :tz)::date AS day
    FROM ledger_entries g
    WHERE g.reason_code = 'birthday_gift' AND g.currency = 'points' AND g.created_at >= :start AND g.created_at < :end
), months AS (
    SELECT date_trunc('month', day)::date AS month, count(*) AS gifts, sum(amount) AS points,
           count(*) FILTER (WHERE (  -- the member's next earn or spend (ids follow time), by their own index
               SELECT e.created_at FROM ledger_entries e WHERE e.member_id = gifts.member_id AND e.id > gifts.id
                 AND e.kind IN ('earn', 'spend') AND e.reason_code <> 'birthday_gift' ORDER BY e.id LIMIT 1
             ) < gifts.created_at + interval '7 days'
             OR EXISTS (SELECT 1 FROM checkins c WHERE c.member_id = gifts.member_id AND c.day > gifts.day
                          AND c.day <= gifts.day + 7)) AS returned
    FROM gifts GROUP BY 1
), pushes AS (
    SELECT date_trunc('month', CAST(ref AS date))::date AS month, coalesce(sum((summary->>'sent')::int), 0) AS pushed
    FROM push_runs WHERE kind = 'birthday' AND ref BETWEEN :d0s AND :d1s GROUP BY 1
)
SELECT month, coalesce(gifts, 0) AS gifts, coalesce(points, 0) AS points, coalesce(returned, 0) AS returned,
       coalesce(pushed, 0) AS pushed
FROM months FULL JOIN pushes USING (month) ORDER BY month
""")

BASELINE_DAYS = 28  # a campaign's days are compared with the ordinary days of the four weeks before it


def _rows(statement, params) -> list[dict]:
    return [dict(row) for row in db.session.execute(statement, params).mappings()]


def _days(period: Period) -> list[dict]:
    return rollup.days(period.start, period.end)


def members(period: Period, days: list[dict] | None = None) -> dict:
    params = _params(period)
    total = int(db.session.execute(_MEMBERS_BEFORE, params).scalar_one())
    series = []
    for d in days if days is not None else _days(period):
        total += d["new_members"]
        series.append({"day": d["day"].isoformat(), "new_members": d["new_members"],
                       "active_members": d["active_members"], "checkins": d["checkins"], "members": total,
                       "checkin_rate": round(d["checkins"] / total, 4) if total else None})
    return {"total": total, "new": sum(d["new_members"] for d in series),
            "monthly_active": int(db.session.execute(_MONTHLY_ACTIVE, params).scalar_one()), "daily": series}


def points(period: Period, days: list[dict] | None = None) -> dict:
    days = days if days is not None else _days(period)
    flows = {f: sum(d[f] for d in days) for f in ("issued", "spent", "expired", "deducted")}
    return {"books": books.liability(period.start_at, period.end_at, flows=flows),
            "daily": [{"day": d["day"].isoformat(), "issued": d["issued"], "spent": d["spent"],
                       "expired": d["expired"]} for d in days]}


def levels(period: Period) -> list[dict]:
    return _rows(_LEVELS, _params(period))


def referrals(period: Period) -> dict:
    params = _params(period)
    return {"funnel": {k: int(v) for k, v in db.session.execute(_FUNNEL, params).mappings().one().items()},
            "top_inviters": _rows(_TOP_INVITERS, params), "channels": _rows(_CHANNELS, params)}


def mall(period: Period) -> dict:
    return {"best_sellers": _rows(_BEST_SELLERS, _params(period)),
            "stock_alerts": _rows(_STOCK_ALERTS, {"share": STOCK_ALERT_SHARE})}


def pushes(period: Period) -> list[dict]:
    return _rows(_PUSHES, _params(period))


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def campaigns(period: Period) -> list[dict]:
    """Each campaign window of the period beside the ordinary days before it: active members and
    check-ins a day, points issued and spent, mall orders, pushes delivered. A window counts the
    business days it touches (a member day is one whole day); its baseline is the other days of the
    four weeks before it, from the programme's first active day on."""
    windows = _rows(_CAMPAIGNS, _params(period))
    if not windows:
        return []
    today = clock.business_date(clock.now())

    def span(w) -> tuple[date, date]:
        return clock.business_date(w["starts_at"]), clock.business_date(w["ends_at"] - timedelta(microseconds=1))

    spans = [span(w) for w in windows]
    first = min(a for a, _ in spans) - timedelta(days=BASELINE_DAYS)
    last = min(max(b for _, b in spans), today)
    by_day = {d["day"]: d for d in rollup.days(first, last)} if first <= last else {}
    campaign_days = {a + timedelta(days=i) for a, b in spans for i in range((b - a).days + 1)}
    # days before the programme had any activity are not "usual" days: they would pull the baseline down
    opened = min((day for day, d in by_day.items() if any(d[f] for f in rollup.FIELDS)), default=None)
    out = []
    for w, (a, b) in zip(windows, spans):
        inside = [by_day[a + timedelta(days=i)] for i in range((b - a).days + 1) if a + timedelta(days=i) in by_day]
        before = [by_day[d] for d in (a - timedelta(days=i) for i in range(1, BASELINE_DAYS + 1))
                  if d in by_day and d not in campaign_days and opened is not None and d >= opened]
        active, usual = _mean([d["active_members"] for d in inside]), _mean([d["active_members"] for d in before])
        out.append({
            "id": w["id"], "name": w["name"], "grade": w["grade"], "start": a.isoformat(), "end": b.isoformat(),
            "multiplier_pct": int(w["multiplier_pct"]), "segment": w["segments"],
            "active_per_day": active, "usual_active_per_day": usual,
            "lift": round(active / usual - 1, 4) if active is not None and usual else None,
            "checkins_per_day": _mean([d["checkins"] for d in inside]),
            "usual_checkins_per_day": _mean([d["checkins"] for d in before]),
            "issued": sum(d["issued"] for d in inside), "spent": sum(d["spent"] for d in inside),
            "orders": int(w["orders"]), "pushed": int(w["pushed"]),
        })
    return out


def birthdays(period: Period) -> list[dict]:
    """Birthday gifts and pushes by month, and the share of gifted members who came back within a week."""
    params = {**_params(period), "d0s": period.start.isoformat(), "d1s": period.end.isoformat()}
    out = []
    for row in db.session.execute(_BIRTHDAYS, params).mappings():
        gifts = int(row["gifts"])
        out.append({"month": row["month"].strftime("%Y-%m"), "gifts": gifts, "points": int(row["points"]),
                    "returned": int(row["returned"]), "return_rate": round(int(row["returned"]) / gifts, 4) if gifts else None,
                    "pushed": int(row["pushed"])})
    return out


def dashboard(period: Period) -> dict:
    """Every figure of the dashboard for `period`."""
    days = _days(period)
    return {"period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
            "members": members(period, days), "points": points(period, days), "levels": levels(period),
            "referrals": referrals(period), "mall": mall(period), "pushes": pushes(period),
            "campaigns": campaigns(period), "birthdays": birthdays(period)}
