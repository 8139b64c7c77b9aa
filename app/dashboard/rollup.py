"""The dashboard's daily figures, with closed days kept instead of recomputed on every view.

A business day's figures (new members, active members, check-ins, points issued / spent / expired /
deducted) stop changing once the day is over: the ledger is append-only and stamps each entry with
the time it is written. So once a day has ended and settled (`SETTLE` later, for transactions still
in flight at midnight) its figures are computed once, from the same SQL as a live day, and kept in
`dashboard_days`. The dashboard then reads a year as 365 short rows plus today's live figures.

What keeps the kept days true: the marks in `dashboard_rollup`, the highest ledger entry, check-in
and member ids the days were computed from. Rows written later for a day already kept (a make-up
check-in for last week, a back-dated import) have ids above those marks; the next view finds the
earliest such day and computes the days from it again. A change of the programme's time zone
recomputes everything. `flask --app wsgi dashboard rebuild` drops the kept days by hand.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, text
from sqlalchemy.dialects.postgresql import insert

from app import clock
from app.dashboard.models import DashboardDay, DashboardRollup
from app.extensions import db
from app.points import liability as books

SETTLE = timedelta(hours=1)
FIELDS = ("new_members", "active_members", "checkins", "issued", "spent", "expired", "deducted")
_LOCK = 0x0DA5_0001  # pg advisory lock serialising the refreshers

_ACTIVITY = text("""
WITH joined AS (
    SELECT (created_at AT TIME ZONE :tz)::date AS day, count(*) AS n FROM members
    WHERE created_at >= :start AND created_at < :end GROUP BY 1
), active AS (
    SELECT day, count(DISTINCT member_id) AS n FROM (
        SELECT (created_at AT TIME ZONE :tz)::date AS day, member_id FROM ledger_entries
        WHERE created_at >= :start AND created_at < :end
        UNION ALL
        SELECT day, member_id FROM checkins WHERE day BETWEEN :d0 AND :d1
    ) a GROUP BY day
), checked AS (
    SELECT day, count(*) AS n FROM checkins WHERE day BETWEEN :d0 AND :d1 GROUP BY day
)
SELECT day, coalesce(joined.n, 0) AS new_members, coalesce(active.n, 0) AS active_members,
       coalesce(checked.n, 0) AS checkins
FROM joined FULL JOIN active USING (day) FULL JOIN checked USING (day)
""")

_MARKS = text("SELECT (SELECT coalesce(max(id), 0) FROM ledger_entries), (SELECT coalesce(max(id), 0) FROM checkins),"
              " (SELECT coalesce(max(id), 0) FROM members)")

# The earliest business day touched by rows written after the marks (None when there are none).
_TOUCHED = text("""
SELECT least((SELECT min((created_at AT TIME ZONE :tz)::date) FROM ledger_entries WHERE id > :ledger),
             (SELECT min(day) FROM checkins WHERE id > :checkin),
             (SELECT min((created_at AT TIME ZONE :tz)::date) FROM members WHERE id > :member))
""")

_FIRST_DAY = text("""
SELECT least((SELECT min((created_at AT TIME ZONE :tz)::date) FROM members),
             (SELECT (min(created_at) AT TIME ZONE :tz)::date FROM ledger_entries),
             (SELECT min(day) FROM checkins))
""")


def compute(first: date, last: date) -> dict[date, dict[str, int]]:
    """Every figure of the days `first`..`last` (inclusive), live from the tables."""
    zone = clock.zone().key
    start, end = clock.local_midnight(first), clock.local_midnight(last + timedelta(days=1))
    out = {first + timedelta(days=i): dict.fromkeys(FIELDS, 0) for i in range((last - first).days + 1)}
    params = {"start": start, "end": end, "tz": zone, "d0": first, "d1": last}
    for row in db.session.execute(_ACTIVITY, params):
        if row.day in out:
            out[row.day].update(new_members=int(row.new_members), active_members=int(row.active_members),
                                checkins=int(row.checkins))
    for row in books.daily_flows(start, end, zone):
        if row.day in out:
            out[row.day].update(issued=int(row.issued), spent=int(row.spent), expired=int(row.expired),
                                deducted=int(row.deducted))
    return out


def _state():
    return db.session.execute(text("SELECT zone, through, ledger_id, checkin_id, member_id FROM dashboard_rollup "
                                   "WHERE id = 1")).one_or_none()


def _touched(state, zone: str) -> date | None:
    return db.session.execute(_TOUCHED, {"tz": zone, "ledger": state.ledger_id, "checkin": state.checkin_id,
                                         "member": state.member_id}).scalar()


def _fresh(state, zone: str, target: date) -> bool:
    if state is None or state.zone != zone or state.through is None or state.through < target:
        return False
    touched = _touched(state, zone)
    return touched is None or touched > state.through


def refresh(until: date) -> date | None:
    """Keep every settled day up to `until`; return the last day kept (None before any is)."""
    zone = clock.zone().key
    target = min(until, clock.business_date(clock.now() - SETTLE) - timedelta(days=1))
    state = _state()
    if _fresh(state, zone, target):
        return state.through
    db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    state = _state()  # another view may have done it while this one waited
    if _fresh(state, zone, target):
        db.session.commit()
        return state.through
    marks = db.session.execute(_MARKS).one()
    through = state.through if state is not None and state.zone == zone else None
    if through is not None:
        touched = _touched(state, zone)
        if touched is not None and touched <= through:
            through = touched - timedelta(days=1)
    else:
        db.session.execute(delete(DashboardDay))
    if through is not None:
        db.session.execute(delete(DashboardDay).where(DashboardDay.day > through))
        first = through + timedelta(days=1)
    else:
        first = db.session.execute(_FIRST_DAY, {"tz": zone}).scalar()
    last = max(target, through) if through is not None else target
    if first is not None and first <= last:
        rows = [{"day": day, **figures} for day, figures in compute(first, last).items() if any(figures.values())]
        if rows:
            db.session.execute(insert(DashboardDay), rows)
    values = {"zone": zone, "through": last, "ledger_id": marks[0], "checkin_id": marks[1], "member_id": marks[2],
              "updated_at": clock.now()}
    db.session.execute(insert(DashboardRollup).values(id=1, **values)
                       .on_conflict_do_update(index_elements=["id"], set_=values))
    db.session.commit()
    return last


def days(first: date, last: date) -> list[dict]:
    """The figures of every day `first`..`last`, in order: kept days read back, the rest live."""
    through = refresh(last)
    kept: dict[date, dict[str, int]] = {}
    if through is not None and first <= through:
        for row in db.session.scalars(db.select(DashboardDay).where(DashboardDay.day >= first,
                                                                     DashboardDay.day <= min(last, through))):
            kept[row.day] = {f: getattr(row, f) for f in FIELDS}
    live_from = first if through is None else max(first, through + timedelta(days=1))
    live = compute(live_from, last) if live_from <= last else {}
    out = []
    for i in range((last - first).days + 1):
        day = first + timedelta(days=i)
        figures = live.get(day) or kept.get(day) or dict.fromkeys(FIELDS, 0)
        out.append({"day": day, **figures})
    return out


def rebuild() -> None:
    """Drop every kept day; the next view computes them again."""
    db.session.execute(delete(DashboardDay))
    db.session.execute(delete(DashboardRollup))
    db.session.commit()
