"""The earning engine and level placement of the demo year, in memory: `app.earning.engine.process`
and `app.levels.service` applied to the generated members, writing the rows those write.

An event is recorded once with what each rule of its type paid or why not (window, level, caps per
business day, week, month and lifetime, budget), with the level and campaign multipliers; what a
rule pays goes through the books under the key `event:{row}:rule:{rule}`. Growth promotes at once
(a level with a first-purchase condition on the first purchase); growth taken back drops the level
when the programme says so; the level-expiry job applies each expired level's action.
"""
from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta

from app import clock
from app.demo_year.books import Account, Books
from app.earning import multipliers
from app.earning.engine import RuleResult, _base_amounts, _capped
from app.levels.service import _ACTION_WORDS, _growth_after
from app.points.posting import fingerprint


_dumps = json.JSONEncoder().encode  # the default encoder, built once (jsonb keeps the text, not the escapes)


class Caps:
    """A member's awards of one capped rule, by business day, week, month and in all."""

    __slots__ = ("days", "weeks", "months", "total")

    def __init__(self) -> None:
        self.days: dict[date, int] = {}
        self.weeks: dict[date, int] = {}
        self.months: dict[tuple[int, int], int] = {}
        self.total = 0

    def counts(self, day: date) -> tuple[int, int, int, int]:
        week = day - timedelta(days=day.weekday())
        return (self.days.get(day, 0), self.weeks.get(week, 0), self.months.get((day.year, day.month), 0), self.total)

    def add(self, day: date) -> None:
        week = day - timedelta(days=day.weekday())
        self.days[day] = self.days.get(day, 0) + 1
        self.weeks[week] = self.weeks.get(week, 0) + 1
        self.months[(day.year, day.month)] = self.months.get((day.year, day.month), 0) + 1
        self.total += 1


class Purchase:
    """A purchase event and what its rules paid, for the refunds of its order."""

    __slots__ = ("amount_cents", "awards", "refunded_cents")

    def __init__(self, amount_cents: int) -> None:
        self.amount_cents, self.awards, self.refunded_cents = amount_cents, [], 0


class Award:
    __slots__ = ("code", "points", "growth", "points_entry", "growth_entry", "lot", "points_asked", "growth_asked")


class Ladder:
    """Level definitions (lowest first) and placement, mirroring `app.levels.service`."""

    def __init__(self, definitions: list, downgrade_on_reversal: bool, start_ids: dict[str, int]) -> None:
        self.levels = definitions
        self.by_code = {level.code: level for level in definitions}
        self.downgrade_on_reversal = downgrade_on_reversal
        self.has_condition = any(level.condition == "first_purchase" for level in definitions)
        self._change_ids = itertools.count(start_ids["level_changes"] + 1)
        self._notice_ids = itertools.count(start_ids["level_notices"] + 1)
        self.changes: list[tuple] = []
        self.notices: list[list] = []
        self.due_expiry: dict[date, set[int]] = {}
        self.due_notices: dict[date, list[tuple[int, int, datetime]]] = {}
        self.notice_refs: set[tuple[int, str, str]] = set()

    def rank(self, code: str | None) -> int:
        level = self.by_code.get(code) if code else None
        return level.rank if level else -1

    def effective(self, code: str | None):
        return self.by_code.get(code) if code in self.by_code else (self.levels[0] if self.levels else None)

    def earned(self, growth: int, purchased: bool):
        for level in reversed(self.levels):
            if growth < level.threshold:
                continue
            if level.condition == "first_purchase" and not purchased:
                continue
            return level
        return None

    @staticmethod
    def expiry(level, start: datetime) -> datetime | None:
        return start + relativedelta(months=level.validity_months) if level.validity_months else None

    def ensure_row(self, person, at: datetime) -> None:
        """`_state`: the member's level row, created at the lowest level the first time."""
        if person.level_code is None and self.levels:
            lowest = self.levels[0]
            person.level_code, person.level_reached_at = lowest.code, at
            self._set_expiry(person, self.expiry(lowest, at))

    def _set_expiry(self, person, expires_at: datetime | None) -> None:
        person.level_expires_at = expires_at
        if expires_at is not None:
            self.due_expiry.setdefault(job_day(expires_at, 20), set()).add(person.id)
            for ahead in (30, 7):
                self.due_notices.setdefault(clock.business_date(expires_at) - timedelta(days=ahead), []).append(
                    (person.id, ahead, expires_at))

    def place(self, person, target, reason: str, detail: str | None, at: datetime) -> None:
        before = person.level_code
        person.level_code, person.level_reached_at = target.code, at
        self._set_expiry(person, self.expiry(target, at))
        change_id = next(self._change_ids)
        self.changes.append((change_id, person.id, before, target.code, reason, detail, at))
        rank_before = self.rank(before)
        kind = "level_up" if target.rank > rank_before else "level_down" if target.rank < rank_before else "level_renewed"
        self.notices.append([next(self._notice_ids), person.id, kind, target.code, f"change:{change_id}", None, at, None])

    def on_growth(self, person, growth: int, delta: int, reason_code: str, at: datetime) -> None:
        if not self.levels:
            return
        if delta > 0:
            code = person.level_code
            if code is not None and not any(
                    level.rank > self.rank(code) and growth >= level.threshold
                    and (level.condition == "growth" or growth - delta < level.threshold) for level in self.levels):
                return
            self.ensure_row(person, at)
            target = self.earned(growth, person.has_purchase)
            if target is not None and target.rank > self.rank(person.level_code):
                self.place(person, target, "promotion", f"成长值 {growth}", at)
        elif delta < 0 and not reason_code.startswith("level_") and self.downgrade_on_reversal:
            self.ensure_row(person, at)
            target = self.earned(growth, person.has_purchase)
            if target is not None and target.rank < self.rank(person.level_code):
                self.place(person, target, "growth_reversed", f"成长值扣回后为 {growth}", at)

    def on_purchase(self, person, at: datetime) -> None:
        if not self.has_condition:
            return
        self.ensure_row(person, at)
        target = self.earned(person.account.growth, True)
        if target is not None and target.rank > self.rank(person.level_code):
            self.place(person, target, "promotion", "首次消费", at)

    def expire(self, person, books: Books, at: datetime) -> None:
        """`levels.service._expire_one`: the expired level's action on growth, then placement."""
        if person.level_expires_at is None or person.level_expires_at > at:
            return
        level = self.by_code.get(person.level_code) or self.levels[0]
        account = person.account
        remaining = _growth_after(level, account.growth)
        if remaining != account.growth:
            books.adjust_growth(account, remaining - account.growth,
                                key=f"level-expiry:{person.id}:{person.level_expires_at.isoformat()}",
                                reason=f"{_ACTION_WORDS[level.expiry_action]}({level.name})",
                                reason_code=f"level_expiry_{level.expiry_action}", at=at)
        target = self.earned(remaining, person.has_purchase) or self.levels[0]
        self.place(person, target, "expired", level.expiry_action, at)

    def notify_expiring(self, people: dict, day: date, at: datetime) -> None:
        """`notify_expiring` and the warnings job marking them sent: 30 and 7 days before expiry."""
        for member_id, ahead, expires_at in self.due_notices.pop(day, []):
            person = people[member_id]
            ref = expires_at.isoformat()
            if person.level_expires_at != expires_at or (member_id, f"level_expiring_{ahead}", ref) in self.notice_refs:
                continue
            self.notice_refs.add((member_id, f"level_expiring_{ahead}", ref))
            self.notices.append([next(self._notice_ids), member_id, f"level_expiring_{ahead}", person.level_code, ref,
                                 clock.business_date(expires_at), at, at])


def job_day(instant: datetime, minute: int) -> date:
    """The business day whose 00:`minute` run of a nightly job is the first at or after `instant`."""
    day = clock.business_date(instant)
    return day if instant <= clock.local_midnight(day) + timedelta(minutes=minute) else day + timedelta(days=1)


class Earning:
    """`engine.process` over the generated members: rows of `earning_events` and `rule_awards`."""

    def __init__(self, books: Books, ladder: Ladder, rules: dict[str, list], start_ids: dict[str, int]) -> None:
        self.books, self.ladder, self.rules = books, ladder, rules
        self._event_ids = itertools.count(start_ids["earning_events"] + 1)
        self._award_ids = itertools.count(start_ids["rule_awards"] + 1)
        self.events: list[tuple] = []
        self.awards: list[tuple] = []
        self.budget_used: dict[int, int] = {}
        self._campaign_days = set()
        for campaign in multipliers.campaigns():
            day = clock.business_date(campaign.starts_at)
            while clock.local_midnight(day) < campaign.ends_at:
                self._campaign_days.add(day)
                day += timedelta(days=1)

    def _campaign(self, event_type: str, level_code: str | None, at: datetime) -> tuple[int, str | None]:
        if clock.business_date(at) not in self._campaign_days:
            return 100, None
        return multipliers.campaign_multiplier(event_type, lambda: level_code, at)

    def process(self, person, event_type: str, event_id: str, at: datetime, attributes: dict, *,
                source: str = "app", occurred_at: datetime | None = None,
                purchase: Purchase | None = None) -> tuple[int, str, int, int]:
        """Record and pay one event at `at`: (row id, status, points, growth)."""
        occurred = occurred_at or at
        print_ = fingerprint("event", person.id, type=event_type,
                             occurred=occurred_at.isoformat() if occurred_at else None, attributes=attributes)
        row_id = next(self._event_ids)
        day = clock.business_date(occurred)
        person.saw(event_type, day)
        if event_type == "refund":
            results = self._refund(person, row_id, attributes, at)
        else:
            if event_type == "purchase":
                person.has_purchase = True  # the event's row is there before its rules pay
            results = [self._apply(rule, person, row_id, occurred, day, attributes, at, purchase)
                       for rule in self.rules.get(event_type, [])] or [
                RuleResult(rule="-", status="rejected", reason="no_rule")]
            if event_type == "purchase":
                self.ladder.on_purchase(person, at)
        points = sum(r.points for r in results)
        growth = sum(r.growth for r in results)
        paid = any(r.status != "rejected" for r in results)
        status = ("reversed" if event_type == "refund" else "awarded") if paid else "rejected"
        order_ref = attributes.get("order_id") if event_type in ("purchase", "refund") else None
        outcome = [{"rule": r.rule, "status": r.status, "reason": r.reason, "points": r.points, "growth": r.growth,
                    "multiplier_pct": r.multiplier_pct, "campaign": r.campaign} for r in results]  # asdict, faster
        self.events.append((row_id, source, event_id, event_type, person.id, occurred, _dumps(attributes), print_,
                            order_ref, status, points, growth, _dumps(outcome), at))
        return row_id, status, points, growth

    def _apply(self, rule, person, row_id: int, occurred: datetime, day: date, attrs: dict, at: datetime,
               purchase: Purchase | None) -> RuleResult:
        if not rule.active or (rule.starts_at and occurred < rule.starts_at) or (rule.ends_at and occurred >= rule.ends_at):
            return RuleResult(rule=rule.code, status="rejected", reason="rule_inactive")
        level = self.ladder.effective(person.level_code)
        level_code = level.code if level else None
        if rule.level_codes and level_code not in rule.level_codes:
            return RuleResult(rule=rule.code, status="rejected", reason="level_not_eligible")
        points, growth = _base_amounts(rule, attrs)
        pct, campaign = 100, None
        if rule.apply_level_multiplier:
            pct = pct * (level.earn_multiplier_pct if level else 100) // 100
        if rule.apply_campaign_multiplier:
            campaign_pct, campaign = self._campaign(rule.event_type, level_code, occurred)
            pct = pct * campaign_pct // 100
        points = points * pct // 100
        if points == 0 and growth == 0:
            return RuleResult(rule=rule.code, status="rejected", reason="zero_amount")
        caps = None
        if _capped(rule):
            caps = person.caps.get(rule.id)
            if caps is None:
                caps = person.caps[rule.id] = Caps()
            limits = (rule.cap_per_day, rule.cap_per_week, rule.cap_per_month, rule.cap_lifetime)
            for name, cap, count in zip(("daily", "weekly", "monthly", "lifetime"), limits, caps.counts(day)):
                if cap is not None and count >= cap:
                    return RuleResult(rule=rule.code, status="rejected", reason=f"over_{name}_cap")
        if rule.budget_points is not None and points:
            used = rule.budget_used + self.budget_used.get(rule.id, 0)
            if used + points > rule.budget_points:
                return RuleResult(rule=rule.code, status="rejected", reason="budget_exhausted")
            self.budget_used[rule.id] = self.budget_used.get(rule.id, 0) + points
        points_entry, growth_entry, lot = self.books.earn(
            person.account, points, growth, key=f"event:{row_id}:rule:{rule.id}", reason_code=rule.code,
            reason=rule.name, at=at, hold_days=rule.hold_days if points else 0, source_type="rule",
            source_id=str(rule.id))
        if caps is not None:
            caps.add(day)
        self.awards.append((next(self._award_ids), rule.id, person.id, row_id, day, points, growth, points_entry,
                            growth_entry, at))
        if purchase is not None:
            award = Award()
            award.code, award.points, award.growth, award.lot = rule.code, points, growth, lot
            award.points_entry, award.growth_entry, award.points_asked, award.growth_asked = points_entry, \
                growth_entry, 0, 0
            purchase.awards.append(award)
        return RuleResult(rule=rule.code, status="awarded", points=points, growth=growth, multiplier_pct=pct,
                          campaign=campaign)

    def _refund(self, person, row_id: int, attrs: dict, at: datetime) -> list[RuleResult]:
        """`engine._refund`: take back the refunded share of the order's purchase, cumulatively."""
        purchase = person.purchases.get(attrs["order_id"])
        if purchase is None:
            return [RuleResult(rule="-", status="rejected", reason="unknown_order")]
        bought, before = purchase.amount_cents, purchase.refunded_cents
        if before >= bought:
            return [RuleResult(rule="-", status="rejected", reason="already_refunded")]
        refunded = min(bought, before + attrs["amount_cents"])
        purchase.refunded_cents += attrs["amount_cents"]
        results = []
        account: Account = person.account
        reason = "订单退款,扣回相应积分"
        for award in purchase.awards:
            taken_points = taken_growth = 0
            delta = award.points * refunded // bought - award.points_asked if award.points_entry else 0
            if delta > 0:
                taken_points = self.books.claw_back(account, award.points_entry, award.lot, delta,
                                                    key=f"refund:{row_id}:{award.points_entry}", reason=reason,
                                                    reason_code="refund", at=at)
                award.points_asked += delta
            delta = award.growth * refunded // bought - award.growth_asked if award.growth_entry else 0
            if delta > 0:
                taken_growth = self.books.take_back_growth(account, award.growth_entry, delta,
                                                           key=f"refund:{row_id}:{award.growth_entry}",
                                                           reason=reason, reason_code="refund", at=at)
                award.growth_asked += delta
            results.append(RuleResult(rule=award.code, status="reversed", points=-taken_points, growth=-taken_growth))
        return results or [RuleResult(rule="-", status="rejected", reason="nothing_to_reverse")]
