"""The one way in for earning: `process(event)`.

It records the event once per (source, event id), finds the rules for its type, and for each rule
checks the window, the member's level, caps and budget, applies level and campaign multipliers, and
writes to the ledger with a key derived from the event, all in one transaction. A rule that pays
nothing is recorded with its reason (`rule_inactive`, `over_daily_cap`...), so an operator can
answer "why did I get nothing". A `refund` event takes back the matching share of its purchase.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Integer, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY

from app import clock, locks, pipeline, signals, snapshots, sql
from app.earning import multipliers
from app.earning.models import EarningEvent, EarnRule, RuleAward
from app.errors import Unprocessable
from app.extensions import db
from app.levels import service as levels
from app.points import service as ledger
from app.points.errors import IdempotencyMismatch, UnknownMember
from app.points.models import EntryReversal
from app.points.posting import MAX_AMOUNT, fingerprint
from app.segments import service as segments
from config.earning import EVENT_TYPES

MAX_EVENT_AGE = timedelta(days=30)
MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass
class Event:
    type: str
    member_id: int
    event_id: str
    source: str = "app"
    occurred_at: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class RuleResult:
    rule: str
    status: str  # awarded | rejected | reversed
    reason: str | None = None
    points: int = 0
    growth: int = 0
    multiplier_pct: int = 100
    campaign: str | None = None


@dataclass
class EventResult:
    event_row_id: int
    event_id: str
    status: str
    points: int
    growth: int
    rules: list[RuleResult]
    duplicate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "status": self.status, "points": self.points, "growth": self.growth,
                "duplicate": self.duplicate, "rules": [asdict(r) for r in self.rules]}


def validate(event: Event, *, from_source: str = "internal") -> None:
    """Refuse what can never be processed: unknown types, types this source may not report,
    attributes of the wrong shape, times in the future or too far in the past."""
    spec = EVENT_TYPES.get(event.type)
    if spec is None:
        raise Unprocessable(f"未知的事件类型: {event.type}", code="unknown_event_type")
    if from_source != "internal" and spec["source"] != from_source:
        raise Unprocessable(f"该来源不能上报事件类型 {event.type}", code="event_type_not_allowed")
    if not event.event_id or len(event.event_id) > 128:
        raise Unprocessable("事件 ID 长度须为 1 到 128", code="invalid_event_id")
    if event.occurred_at is not None:
        if event.occurred_at.tzinfo is None:
            raise Unprocessable("发生时间须带时区", code="naive_datetime")
        at = clock.now()
        if event.occurred_at > at + MAX_CLOCK_SKEW or event.occurred_at < at - MAX_EVENT_AGE:
            raise Unprocessable("发生时间不在可接受范围内(30 天内且不晚于现在)", code="occurred_at_out_of_range")
    attrs = event.attributes
    if event.type in ("purchase", "refund"):
        amount = attrs.get("amount_cents")
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
            raise Unprocessable("amount_cents 须为正整数(分)", code="invalid_amount")
        order = attrs.get("order_id")
        if not isinstance(order, str) or not 0 < len(order) <= 64:
            raise Unprocessable("order_id 须为 1 到 64 个字符", code="invalid_order_id")
    for name in ("points", "growth"):
        if name in attrs:
            value = attrs[name]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AMOUNT:
                raise Unprocessable(f"{name} 须为非负整数", code="invalid_amount")


snapshots.watch(EarnRule, "rules")


def rules_for(event_type: str) -> list[EarnRule]:
    """The rules for an event type (detached rows from a process-wide snapshot, see `app.snapshots`)."""
    def load(session) -> dict[str, list[EarnRule]]:
        by_type: dict[str, list[EarnRule]] = {}
        for rule in session.scalars(select(EarnRule).order_by(EarnRule.id)):
            by_type.setdefault(rule.event_type, []).append(rule)
        return by_type
    return snapshots.get("rules", load).get(event_type, [])


# The event's row, written only for an active member (no row back: a replay, or no such member),
# with this member's award counts, per capped rule, for the day, week, month and all time of the
# event. The caller holds the member's lock for this event type, so the counts stay true until commit.
_RECORD_SQL = text("""
WITH event AS (
    INSERT INTO earning_events (source, event_id, event_type, member_id, occurred_at, attributes, fingerprint,
                                order_ref, status, points, growth, outcome, received_at)
    SELECT :source, :event_id, :event_type, id, :occurred_at, CAST(:attributes AS jsonb), :fingerprint, :order_ref,
           'rejected', 0, 0, '[]', :now
    FROM members WHERE id = :member_id AND status = 'active'
    ON CONFLICT ON CONSTRAINT uq_earning_events_source_event_id DO NOTHING
    RETURNING id
), counts AS (
    SELECT rule_id, count(*) FILTER (WHERE business_date = :day) AS day,
           count(*) FILTER (WHERE business_date BETWEEN :week_start AND :week_end) AS week,
           count(*) FILTER (WHERE business_date >= :month_start AND business_date < :month_end) AS month,
           count(*) AS lifetime
    FROM rule_awards WHERE member_id = :member_id AND rule_id = ANY(:capped)
    GROUP BY rule_id
)
SELECT event.id, (SELECT jsonb_object_agg(rule_id, jsonb_build_array(day, week, month, lifetime)) FROM counts)
       AS counts, (SELECT level_code FROM member_levels WHERE member_id = :member_id) AS placed_level
FROM event
""").bindparams(bindparam("capped", type_=ARRAY(Integer)))

# The event's outcome and the awards that caps and budgets count, in one statement. It also reads
# the member's stored level for the growth announcement that follows: any earn has locked the
# member's account by now, and every writer of member_levels holds that lock first, so this
# statement's snapshot sees the level as it is (the levels feature then need not read it again).
# Its JSON parameters are passed as text, so that it can also go out with the COMMIT (`app.pipeline`).
_OUTCOME_SQL = text("""
WITH awards AS (
    INSERT INTO rule_awards (rule_id, member_id, event_row_id, business_date, points, growth,
                             points_entry_id, growth_entry_id, created_at)
    SELECT a.rule_id, :member_id, :row_id, a.business_date, a.points, a.growth, a.points_entry_id,
           a.growth_entry_id, :now
    FROM jsonb_to_recordset(CAST(:awards AS jsonb)) AS a(rule_id integer, business_date date, points bigint, growth bigint,
                                          points_entry_id bigint, growth_entry_id bigint)
)
UPDATE earning_events SET status = :status, points = :points, growth = :growth, outcome = CAST(:outcome AS jsonb)
WHERE id = :row_id
RETURNING (SELECT level_code FROM member_levels WHERE member_id = :member_id) AS stored_level
""")


# An event that one rule pays, with its price known before reading anything (`_price`), recorded
# and paid in one statement: the rule's caps (counted under the lock `process` holds), the event's
# row with its outcome, the ledger's earn (`points.service.EARN_CTES`, nothing when over a cap) and
# the award that caps count. No row back: a replay, or no such member.
_RECORD_AND_EARN_SQL = sql.statement("""
WITH counts AS (
    SELECT count(*) FILTER (WHERE business_date = :day) AS day,
           count(*) FILTER (WHERE business_date BETWEEN :week_start AND :week_end) AS week,
           count(*) FILTER (WHERE business_date >= :month_start AND business_date < :month_end) AS month,
           count(*) AS lifetime
    FROM rule_awards WHERE :capped AND member_id = :member_id AND rule_id = :rule_id
), verdict AS (
    SELECT CASE WHEN day >= CAST(:cap_day AS integer) THEN 'over_daily_cap'
                WHEN week >= CAST(:cap_week AS integer) THEN 'over_weekly_cap'
                WHEN month >= CAST(:cap_month AS integer) THEN 'over_monthly_cap'
                WHEN lifetime >= CAST(:cap_lifetime AS integer) THEN 'over_lifetime_cap' END AS over
    FROM counts
), event AS (
    INSERT INTO earning_events (source, event_id, event_type, member_id, occurred_at, attributes, fingerprint,
                                order_ref, status, points, growth, outcome, received_at)
    SELECT :source, :event_id, :event_type, m.id, :occurred_at, CAST(:attributes AS jsonb), :event_fingerprint, NULL,
           CASE WHEN v.over IS NULL THEN 'awarded' ELSE 'rejected' END,
           CASE WHEN v.over IS NULL THEN :points ELSE 0 END, CASE WHEN v.over IS NULL THEN :growth ELSE 0 END,
           CASE WHEN v.over IS NULL THEN CAST(:if_awarded AS jsonb)
                ELSE jsonb_set(CAST(:if_rejected AS jsonb), '{0,reason}', to_jsonb(v.over)) END, :now
    FROM members m, verdict v WHERE m.id = :member_id AND m.status = 'active'
    ON CONFLICT ON CONSTRAINT uq_earning_events_source_event_id DO NOTHING
    RETURNING id, status
), """ + ledger.EARN_CTES.format(key="'event:' || event.id || :key_rule",
                                 source="FROM event WHERE event.status = 'awarded'") + """, award AS (
    INSERT INTO rule_awards (rule_id, member_id, event_row_id, business_date, points, growth,
                             points_entry_id, growth_entry_id, created_at)
    SELECT :rule_id, :member_id, event.id, :day, :points, :growth,
           (SELECT id FROM e WHERE currency = 'points'), (SELECT id FROM e WHERE currency = 'growth'), :now
    FROM event WHERE event.status = 'awarded'
)
SELECT event.id AS row_id, v.over, (SELECT level_code FROM member_levels WHERE member_id = :member_id) AS placed_level,
       e.currency, e.amount, e.balance_after
FROM event CROSS JOIN verdict v LEFT JOIN e ON true
ORDER BY e.id
""")


def process(event: Event, *, commit: bool = True) -> EventResult:
    validate(event)
    occurred = event.occurred_at or clock.now()
    attrs = dict(event.attributes)
    # an event that carries its own time is the same event only at that time; one stamped on arrival is not
    stamped = event.occurred_at.isoformat() if event.occurred_at else None
    print_ = fingerprint("event", event.member_id, type=event.type, occurred=stamped, attributes=attrs)
    rules = rules_for(event.type) if event.type != "refund" else []
    capped = [rule.id for rule in rules if _capped(rule)]
    if capped:
        locks.hold(locks.earning(event.type, event.member_id))
    day = clock.business_date(occurred)
    week_start, month_start = day - timedelta(days=day.weekday()), day.replace(day=1)
    dates = {"day": day, "week_start": week_start, "week_end": week_start + timedelta(days=6),
             "month_start": month_start, "month_end": (month_start + timedelta(days=32)).replace(day=1)}
    recorded = {"source": event.source, "event_id": event.event_id, "event_type": event.type,
                "member_id": event.member_id, "occurred_at": occurred, "attributes": json.dumps(attrs),
                "fingerprint": print_,
                "order_ref": attrs.get("order_id") if event.type in ("purchase", "refund") else None,
                "now": clock.now(), **dates}
    if event.type not in ("purchase", "refund") and len(rules) == 1 and rules[0].budget_points is None:
        try:  # one rule, priced without reading the database: recorded and paid in one statement
            price = _price(rules[0], event, occurred, attrs, _needs_lookup, _needs_lookup)
        except _NeedsLookup:
            price = None
        if isinstance(price, _Price):
            return _record_and_earn(event, rules[0], price, recorded, print_, commit=commit)
    row = db.session.execute(_RECORD_SQL, {**recorded, "capped": capped}).first()
    if row is None:
        return _replay(event, print_)
    row_id, counts, placed_level = row.id, {int(rule): tuple(n) for rule, n in (row.counts or {}).items()}, row.placed_level
    awards: list[dict[str, Any]] = []
    grown: list[tuple[int, int, str]] = []  # (growth after, growth earned, rule code) per awarding rule
    if event.type == "refund":
        results = _refund(event, row_id, occurred, attrs)
    else:
        # whether the member is in a segment, asked of the database at most once per segment and event
        level, in_segment = _LevelOnce(event.member_id), functools.cache(partial(segments.is_member, event.member_id))
        results = [_apply(rule, event, row_id, occurred, attrs, level, in_segment, counts.get(rule.id), awards, grown)
                   for rule in rules] or [
            RuleResult(rule="-", status="rejected", reason="no_rule")]
    points = sum(r.points for r in results)
    growth = sum(r.growth for r in results)
    paid = [r for r in results if r.status != "rejected"]
    final = ("reversed" if event.type == "refund" else "awarded") if paid else "rejected"
    outcome = {"member_id": event.member_id, "row_id": row_id, "awards": json.dumps(awards), "now": clock.now(),
               "status": final, "points": points, "growth": growth,
               "outcome": json.dumps([asdict(r) for r in results], ensure_ascii=False)}
    earned = sum(n for _, n, _ in grown)
    if commit and event.type != "purchase" and (
            not grown or levels.growth_leaves_level_alone(placed_level, grown[-1][0], earned)):
        # nothing left to decide before the commit (no level to check, no purchase to announce):
        # the outcome and the COMMIT go in one round trip
        pipeline.send([(_OUTCOME_SQL, outcome)], commit=True)
        return EventResult(row_id, event.event_id, final, points, growth, results)
    stored_level = db.session.execute(_OUTCOME_SQL, outcome).scalar()
    if grown:  # once per event: the growth after its last award, all it earned
        ledger.announce_growth(event.member_id, grown[-1][0], earned, grown[-1][2], stored_level=stored_level)
    if event.type == "purchase":
        signals.purchase_recorded.send(None, member_id=event.member_id)
    if commit:
        db.session.commit()
    return EventResult(row_id, event.event_id, final, points, growth, results)


def _record_and_earn(event: Event, rule: EarnRule, price: _Price, recorded: dict[str, Any], print_: str, *,
                     commit: bool) -> EventResult:
    """`_RECORD_AND_EARN_SQL`, then the level check its growth calls for, then the commit."""
    paid = RuleResult(rule=rule.code, status="awarded", points=price.points, growth=price.growth,
                      multiplier_pct=price.pct, campaign=price.campaign)
    params = ledger.earn_params(event.member_id, price.points, growth=price.growth, reason_code=rule.code,
                                reason=rule.name, hold_days=rule.hold_days if price.points else 0,
                                source_type="rule", source_id=str(rule.id))
    rows = pipeline.send([(_RECORD_AND_EARN_SQL, {
        **recorded, **params, "event_fingerprint": print_, "key_rule": f":rule:{rule.id}", "rule_id": rule.id,
        "capped": _capped(rule), "cap_day": rule.cap_per_day, "cap_week": rule.cap_per_week,
        "cap_month": rule.cap_per_month, "cap_lifetime": rule.cap_lifetime,
        "if_awarded": json.dumps([asdict(paid)], ensure_ascii=False),
        "if_rejected": json.dumps([asdict(RuleResult(rule=rule.code, status="rejected"))], ensure_ascii=False),
    })], all_rows=True)
    if not rows:
        return _replay(event, print_)
    first = rows[0]
    if first.over:
        return _done(EventResult(first.row_id, event.event_id, "rejected", 0, 0,
                                 [RuleResult(rule=rule.code, status="rejected", reason=first.over)]), commit)
    for row in rows:
        if row.currency == "growth" and not levels.growth_leaves_level_alone(first.placed_level, row.balance_after,
                                                                             row.amount):
            ledger.announce_growth(event.member_id, row.balance_after, row.amount, rule.code)
    return _done(EventResult(first.row_id, event.event_id, "awarded", price.points, price.growth, [paid]), commit)


def _done(result: EventResult, commit: bool) -> EventResult:
    if commit:
        db.session.commit()
    return result


def _replay(event: Event, print_: str) -> EventResult:
    row = db.session.execute(
        select(EarningEvent).where(EarningEvent.source == event.source, EarningEvent.event_id == event.event_id)
    ).scalar_one_or_none()
    db.session.rollback()
    if row is None:
        raise UnknownMember()
    if row.fingerprint != print_ or row.member_id != event.member_id:
        raise IdempotencyMismatch("该事件 ID 已用于另一条不同的事件", code="event_id_reused")
    return EventResult(row.id, row.event_id, row.status, row.points, row.growth,
                       [RuleResult(**r) for r in row.outcome], duplicate=True)


class _LevelOnce:
    """The member's (level code, multiplier %), looked up on first need and then remembered."""

    def __init__(self, member_id: int) -> None:
        self.member_id = member_id
        self.value: tuple[str | None, int] | None = None

    def __call__(self) -> tuple[str | None, int]:
        if self.value is None:
            self.value = multipliers.level_of(self.member_id)
        return self.value


def _capped(rule: EarnRule) -> bool:
    return any(cap is not None for cap in (rule.cap_per_day, rule.cap_per_week, rule.cap_per_month, rule.cap_lifetime))


@dataclass
class _Price:
    """What a rule pays for an event before its caps and budget."""
    points: int
    growth: int
    pct: int
    campaign: str | None


class _NeedsLookup(Exception):
    """Pricing asked the database (the member's level or segments)."""


def _needs_lookup(*_: Any) -> Any:
    raise _NeedsLookup


def _price(rule: EarnRule, event: Event, occurred: datetime, attrs: dict, level: Callable[[], tuple[str | None, int]],
           in_segment: Callable[[str], bool]) -> _Price | RuleResult:
    """What `rule` would pay for the event (window, level, amounts, multipliers), or why it pays nothing."""
    def rejected(reason: str) -> RuleResult:
        return RuleResult(rule=rule.code, status="rejected", reason=reason)

    if not rule.active or (rule.starts_at and occurred < rule.starts_at) or (rule.ends_at and occurred >= rule.ends_at):
        return rejected("rule_inactive")
    if rule.level_codes and level()[0] not in rule.level_codes:
        return rejected("level_not_eligible")
    points, growth = _base_amounts(rule, attrs)
    pct, campaign = 100, None
    if rule.apply_level_multiplier:
        pct = pct * level()[1] // 100
    if rule.apply_campaign_multiplier:
        campaign_pct, campaign = multipliers.campaign_multiplier(event.type, lambda: level()[0], occurred,
                                                                 in_segment)
        pct = pct * campaign_pct // 100
    points = points * pct // 100
    if points == 0 and growth == 0:
        return rejected("zero_amount")
    return _Price(points, growth, pct, campaign)


def _apply(rule: EarnRule, event: Event, row_id: int, occurred: datetime, attrs: dict, level: _LevelOnce,
           in_segment: Callable[[str], bool], counts: tuple[int, int, int, int] | None,
           awards: list[dict[str, Any]], grown: list[tuple[int, int, str]]) -> RuleResult:
    price = _price(rule, event, occurred, attrs, level, in_segment)
    if isinstance(price, RuleResult):
        return price
    points, growth = price.points, price.growth
    day = clock.business_date(occurred)
    over = _over_cap(rule, counts or (0, 0, 0, 0))
    if over:
        return RuleResult(rule=rule.code, status="rejected", reason=over)
    if rule.budget_points is not None and points:
        taken = db.session.execute(
            update(EarnRule).where(EarnRule.id == rule.id, EarnRule.budget_used + points <= EarnRule.budget_points)
            .values(budget_used=EarnRule.budget_used + points).returning(EarnRule.id)).scalar()
        if taken is None:
            return RuleResult(rule=rule.code, status="rejected", reason="budget_exhausted")
    outcome = ledger.earn(event.member_id, points, growth=growth, key=f"event:{row_id}:rule:{rule.id}",
                          reason_code=rule.code, reason=rule.name, hold_days=rule.hold_days if points else 0,
                          source_type="rule", source_id=str(rule.id), commit=False, announce_growth=False)
    ids = {e.currency: e.id for e in outcome.entries}
    grown.extend((e.balance_after, e.amount, rule.code) for e in outcome.entries
                 if e.currency == "growth" and not outcome.replayed)
    awards.append({"rule_id": rule.id, "business_date": day.isoformat(), "points": points, "growth": growth,
                   "points_entry_id": ids.get("points"), "growth_entry_id": ids.get("growth")})
    return RuleResult(rule=rule.code, status="awarded", points=points, growth=growth, multiplier_pct=price.pct,
                      campaign=price.campaign)


def _base_amounts(rule: EarnRule, attrs: dict) -> tuple[int, int]:
    if rule.mode == "per_yuan":
        cents = int(attrs.get("amount_cents", 0))
        return cents * rule.points_per_yuan // 100, cents * rule.growth_per_yuan // 100
    if rule.mode == "attribute":
        return int(attrs.get("points", 0)), int(attrs.get("growth", rule.growth))
    return rule.points, rule.growth


def _over_cap(rule: EarnRule, counts: tuple[int, int, int, int]) -> str | None:
    """Which cap this award would break, if any, given the member's awards of the rule this day,
    week, month and ever (counted under the lock `process` holds, so parallel events can't both
    slip under a cap)."""
    caps = (rule.cap_per_day, rule.cap_per_week, rule.cap_per_month, rule.cap_lifetime)
    for name, cap, count in zip(("daily", "weekly", "monthly", "lifetime"), caps, counts):
        if cap is not None and count >= cap:
            return f"over_{name}_cap"
    return None


def _refund(event: Event, row_id: int, occurred: datetime, attrs: dict) -> list[RuleResult]:
    """Take back the refunded share of a purchase's points and growth, pending or available.

    Shares are cumulative: after refunds totalling R of a purchase of A, exactly floor(P x R / A) of
    the P points it earned have been taken back, so partial refunds never drift by rounding."""
    order = attrs["order_id"]
    locks.hold(f"refund:{event.member_id}:{order}")
    purchase = db.session.execute(
        select(EarningEvent).where(EarningEvent.member_id == event.member_id, EarningEvent.event_type == "purchase",
                                   EarningEvent.order_ref == order).order_by(EarningEvent.id).limit(1)
    ).scalar_one_or_none()
    if purchase is None:
        return [RuleResult(rule="-", status="rejected", reason="unknown_order")]
    bought = int(purchase.attributes["amount_cents"])
    before = int(db.session.execute(
        select(func.coalesce(func.sum(EarningEvent.attributes["amount_cents"].as_integer()), 0))
        .where(EarningEvent.member_id == event.member_id, EarningEvent.event_type == "refund",
               EarningEvent.order_ref == order, EarningEvent.status == "reversed", EarningEvent.id != row_id)
    ).scalar_one())
    refunded = min(bought, before + int(attrs["amount_cents"]))
    if before >= bought:
        return [RuleResult(rule="-", status="rejected", reason="already_refunded")]
    results = []
    awards = db.session.execute(select(RuleAward, EarnRule.code).join(EarnRule, EarnRule.id == RuleAward.rule_id)
                                .where(RuleAward.event_row_id == purchase.id)).all()
    for award, code in awards:
        taken = {}
        for currency, entry_id, total in (("points", award.points_entry_id, award.points),
                                          ("growth", award.growth_entry_id, award.growth)):
            if entry_id is None or not total:
                continue
            asked = int(db.session.execute(select(func.coalesce(func.sum(EntryReversal.requested), 0))
                                           .where(EntryReversal.entry_id == entry_id)).scalar_one())
            delta = total * refunded // bought - asked
            if delta > 0:
                outcome = ledger.reverse(entry_id, key=f"refund:{row_id}:{entry_id}", reason="订单退款,扣回相应积分",
                                         amount=delta, reason_code="refund", commit=False)
                taken[currency] = outcome.extra["taken"]
        results.append(RuleResult(rule=code, status="reversed", points=-taken.get("points", 0),
                                  growth=-taken.get("growth", 0)))
    return results or [RuleResult(rule="-", status="rejected", reason="nothing_to_reverse")]
