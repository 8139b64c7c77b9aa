"""RFM: recency, frequency and monetary value of every member over the last year, in one statement.

Sources. Spending is the `purchase` earning events: what the brand's systems and the store
counters report as a member paying money (`attributes.amount_cents`, in fen). A purchase counts net
of the `refund` events of the same order (never below zero); a purchase refunded in full is not a
purchase. Mall orders are not spending: they are redemptions of points (their cash part only tops up
a gift), so they count as activity, like check-ins, not as purchases.

- recency_days: business days (programme time zone) since the member's last activity in the window
  (see `app.segments.rules` for what activity is; purchases are part of it);
- frequency: purchases in the window; monetary_cents: their net amount.

Scores 1-5 are quintiles of the members scored, by rank: with n distinct values they are 1..5 in
fifths. Equal values share one score, that of the middle of their run of ranks, so a value most
members share (one purchase) scores low and a value everyone shares scores 3, not an arbitrary 1 or
5 (ntile() would split a tie across scores; rank() alone would give it the lowest). Recency ranks the
most recent highest; frequency and monetary the largest highest, so members with activity but no
purchase share the lowest F and M scores (1, or 2 when they are most of the members). Integer
arithmetic only.

Members with no activity at all in the window get no row (not a 'none' segment): they are not
customers of the last year, and `GET /admin/rfm/summary` counts them as unscored.

The table is replaced in one statement (upsert the scored, delete the rest) under an advisory lock,
so readers see the old scores or the new ones, two runs never interleave, and a run repeated on the
same data and clock leaves the same table.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import BigInteger, Date, and_, case, cast, delete, exists, func, literal, select
from sqlalchemy.dialects.postgresql import insert

from app import clock, locks
from app.earning.models import EarningEvent
from app.extensions import db
from app.members.models import Member
from app.segments.models import MemberRFM
from app.segments.rules import activity_between
from config.segments import RFM_HIGH_SCORE, RFM_WINDOW_DAYS

_COLUMNS = ("member_id", "recency_days", "frequency", "monetary_cents", "r_score", "f_score", "m_score", "segment",
            "computed_at")


def _quintile(*order_by):
    """1-5 by the position of the member's value among all n, a tie placed at the middle of its run:
    1 + 5 * (first + last position, 0-based) / (2 * (n - 1)), at most 5; 3 when n is 1."""
    first = func.rank().over(order_by=order_by) - 1
    last = func.count().over(order_by=order_by) - 1  # the default frame ends at the last peer
    n = func.count().over()
    share = (5 * (first + last)).op("/")(func.greatest(2 * (n - 1), 1))  # bigint / bigint: integer division
    return case((n == 1, 3), else_=func.least(5, 1 + share))


def _segment(r, f, m):
    """The eight segments: M high -> important (重要), then R and F high or low."""
    high = RFM_HIGH_SCORE
    return case(
        (and_(r >= high, f >= high, m >= high), "important_value"),
        (and_(r >= high, m >= high), "important_develop"),
        (and_(f >= high, m >= high), "important_keep"),
        (m >= high, "important_retain"),
        (and_(r >= high, f >= high), "general_value"),
        (r >= high, "general_develop"),
        (f >= high, "general_keep"),
        else_="general_retain")


def scored():
    """SELECT of every scored member's row of `member_rfm`, computed now."""
    at = clock.now()
    since = at - timedelta(days=RFM_WINDOW_DAYS)
    activity = activity_between(since, at)
    last = (select(activity.c.member_id, func.max(activity.c.at).label("last_at"))
            .group_by(activity.c.member_id).subquery("last_activity"))

    def cents(event):
        return cast(event.attributes["amount_cents"].astext, BigInteger)

    refund = EarningEvent.__table__.alias("refund")
    refunded = (select(func.coalesce(func.sum(cents(refund.c)), 0))
                .where(refund.c.event_type == "refund", refund.c.member_id == EarningEvent.member_id,
                       refund.c.order_ref == EarningEvent.order_ref, refund.c.occurred_at <= at)
                .scalar_subquery())
    amount = cents(EarningEvent)
    net = amount - func.least(amount, refunded)
    purchases = (select(EarningEvent.member_id, net.label("net"))
                 .where(EarningEvent.event_type == "purchase", EarningEvent.occurred_at >= since,
                        EarningEvent.occurred_at <= at).subquery("purchases"))
    bought = (select(purchases.c.member_id, func.count().filter(purchases.c.net > 0).label("frequency"),
                     func.sum(purchases.c.net).label("monetary"))
              .group_by(purchases.c.member_id).subquery("bought"))

    last_day = cast(func.timezone(clock.zone().key, last.c.last_at), Date)
    base = (select(Member.id.label("member_id"),
                   func.greatest(literal(clock.today(), Date) - last_day, 0).label("recency_days"),
                   func.coalesce(bought.c.frequency, 0).label("frequency"),
                   cast(func.coalesce(bought.c.monetary, 0), BigInteger).label("monetary_cents"))
            .join(last, last.c.member_id == Member.id)
            .outerjoin(bought, bought.c.member_id == Member.id)
            .where(Member.status == "active").subquery("base"))
    scores = select(base, _quintile(base.c.recency_days.desc()).label("r_score"),
                    _quintile(base.c.frequency).label("f_score"),
                    _quintile(base.c.monetary_cents).label("m_score")).subquery("scores")
    return select(scores.c.member_id, scores.c.recency_days, scores.c.frequency, scores.c.monetary_cents,
                  scores.c.r_score, scores.c.f_score, scores.c.m_score,
                  _segment(scores.c.r_score, scores.c.f_score, scores.c.m_score).label("segment"),
                  literal(at).label("computed_at"))


def compute_all() -> dict[str, Any]:
    """The daily job (and safe to run at any time, or twice): recompute `member_rfm` for everyone."""
    locks.hold("segments:rfm")
    rows = scored().cte("scored")
    upsert = insert(MemberRFM).from_select(list(_COLUMNS), select(rows))
    upserted = (upsert.on_conflict_do_update(index_elements=[MemberRFM.member_id],
                                             set_={c: upsert.excluded[c] for c in _COLUMNS if c != "member_id"})
                .returning(MemberRFM.member_id).cte("upserted"))
    removed = (delete(MemberRFM).where(~exists().where(rows.c.member_id == MemberRFM.member_id))
               .returning(MemberRFM.member_id).cte("removed"))
    counts = db.session.execute(select(select(func.count()).select_from(upserted).scalar_subquery(),
                                       select(func.count()).select_from(removed).scalar_subquery())).one()
    db.session.commit()
    return {"scored": counts[0], "removed": counts[1], "segments": segment_counts()}


def segment_counts() -> dict[str, int]:
    return dict(db.session.execute(select(MemberRFM.segment, func.count()).group_by(MemberRFM.segment)).all())
