"""The rule language of rule tags, compiled to SQL: a rule selects member ids in one statement.

A rule is `{"all": [condition, ...]}`, validated by `app.segments.schemas.RuleSpec` before it is
stored. Each condition becomes a predicate on `members`; the rule is their conjunction over active
members, so a tag is evaluated by PostgreSQL as one set, never member by member in Python.

Activity, here and in RFM, is what a member does: an earning event of any type but `refund`
(purchases, check-ins, tasks, logins, events from the brand's systems), a points spend (mall
redemptions, lottery draws) and a check-in. Points an operator or a job gives (adjustments,
birthday gifts) and expiry are not the member's doing, so they do not count.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, union_all

from app import clock
from app.checkin.models import Checkin
from app.earning.models import EarningEvent
from app.levels import service as levels
from app.levels.models import MemberLevel
from app.members.models import Member
from app.points.models import LedgerEntry, PointAccount
from app.segments.models import MemberRFM

PROFILE_FIELDS = {"gender": Member.gender, "region": Member.region, "company": Member.company,
                  "industry": Member.industry, "company_size": Member.company_size, "job_role": Member.job_role}


def _activity_sources():
    """(member column, time column, filters) of each kind of activity: the one definition of it."""
    return (
        (EarningEvent.member_id, EarningEvent.occurred_at, (EarningEvent.event_type != "refund",)),
        (LedgerEntry.member_id, LedgerEntry.created_at, (LedgerEntry.kind == "spend",)),
        (Checkin.member_id, Checkin.created_at, ()),
    )


def activity_between(since: datetime, until: datetime):
    """Every activity (member_id, at) in [since, until], as a subquery."""
    return union_all(*(select(member.label("member_id"), at.label("at")).where(at >= since, at <= until, *filters)
                       for member, at, filters in _activity_sources())).subquery("activity")


def _active_since(cutoff: datetime) -> ColumnElement[bool]:
    """The member (correlated to `members`) did something at or after `cutoff`."""
    return or_(*(exists().where(member == Member.id, at >= cutoff, *filters)
                 for member, at, filters in _activity_sources()))


def _dormant(days: int) -> ColumnElement[bool]:
    """Nothing done on the last `days` business days, today included (the RFM recency is >= days).
    A member who never did anything counts from registering: a member registered today is not dormant."""
    cutoff = clock.local_midnight(clock.today() - timedelta(days=days - 1))
    return and_(Member.created_at < cutoff, ~_active_since(cutoff))


def _level_in(codes: list[str]) -> ColumnElement[bool]:
    """A stored level among `codes`; a member without a level row, or with a code no longer defined,
    is at the lowest level (as `app.levels.service.effective_code` says)."""
    placed = exists().where(MemberLevel.member_id == Member.id, MemberLevel.level_code.in_(codes))
    ladder = levels.definitions()
    if not ladder or ladder[0].code not in codes:
        return placed
    known = [level.code for level in ladder]
    unplaced = ~exists().where(MemberLevel.member_id == Member.id, MemberLevel.level_code.in_(known))
    return or_(placed, unplaced)


def predicate(condition: dict) -> ColumnElement[bool]:
    kind = condition["type"]
    if kind == "dormant_days":
        return _dormant(condition["days"])
    if kind == "points_at_least":
        return exists().where(PointAccount.member_id == Member.id, PointAccount.available >= condition["points"])
    if kind == "level_in":
        return _level_in(condition["levels"])
    if kind == "attribute_equals":
        return PROFILE_FIELDS[condition["field"]] == condition["value"]
    if kind == "rfm_segment_in":
        return exists().where(MemberRFM.member_id == Member.id, MemberRFM.segment.in_(condition["segments"]))
    raise ValueError(f"unknown condition type {kind}")


def matching_members(rule: dict) -> Select:
    """`SELECT members.id` of the active members the rule selects (no conditions: nobody)."""
    conditions = [predicate(c) for c in rule.get("all", [])]
    return select(Member.id).where(Member.status == "active", and_(*conditions) if conditions else false())
