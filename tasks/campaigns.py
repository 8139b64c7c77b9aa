"""The scheduled jobs: birthdays, member day, expiry and its warnings, win-back, the daily report.

Each is safe to run twice on a day and to rerun after a crash: gifts are ledger entries keyed per
member and year, pushes go through runs unique per (kind, day) whose send log holds each member
once, robot messages are unique per key.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, extract, func, or_, select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.earning.models import Campaign, EarningEvent
from app.extensions import db
from app.levels import service as levels
from app.levels.models import LevelNotice, MemberLevel
from app.members.models import Member
from app.points import maintenance
from app.points import service as ledger
from app.points.models import LedgerEntry, PointAccount, PointsLot
from app.programme import service as programme
from app.segments import service as segments
from config.jobs import BIRTHDAYS, WIN_BACK
from mall.models import Item, Order
from tasks import automations, delivery
from tasks.models import MessageTemplate, SubscribeGrant

log = logging.getLogger(__name__)


def _template(code: str) -> MessageTemplate:
    return db.session.get(MessageTemplate, code)


# ---- birthdays

def birthday_members(day: date) -> list[Member]:
    """Members whose birthday is `day` (29 February counts on the 28th in other years), or, with
    birthdays by month, whose birthday month starts on `day`."""
    query = select(Member).where(Member.status == "active", Member.birthday.is_not(None))
    if BIRTHDAYS["by"] == "month":
        if day.day != 1:
            return []
        return list(db.session.scalars(query.where(extract("month", Member.birthday) == day.month)))
    same_day = and_(extract("month", Member.birthday) == day.month, extract("day", Member.birthday) == day.day)
    leap_on_28th = day.month == 2 and day.day == 28 and not _is_leap(day.year)
    condition = or_(same_day, and_(extract("month", Member.birthday) == 2, extract("day", Member.birthday) == 29)) \
        if leap_on_28th else same_day
    return list(db.session.scalars(query.where(condition).order_by(Member.id)))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def give_birthday_gift(member_id: int, year: int) -> str:
    """The gift of the member's level, once per year: points through the ledger, or a mall item."""
    level = levels.by_code(levels.level_of(member_id)[0] or "")
    parts = []
    if level is not None and level.birthday_points:
        ledger.earn(member_id, level.birthday_points, key=f"birthday:{member_id}:{year}", reason_code="birthday_gift",
                    reason=f"{year} 年生日礼({level.name})")
        parts.append(f"{level.birthday_points} {programme.current().points_name}")
    if level is not None and level.birthday_item_sku:
        item = db.session.scalar(select(Item).where(Item.sku == level.birthday_item_sku))
        key = f"birthday:{year}"
        exists = db.session.scalar(select(Order.id).where(Order.member_id == member_id, Order.idempotency_key == key))
        if item is not None and exists is None:
            from mall.orders import grant_item
            from mall.errors import OutOfStock

            try:
                grant_item(member_id, item.id, key=key, reason="生日礼")
                db.session.commit()
                parts.append(item.title)
            except (OutOfStock, IntegrityError):
                db.session.rollback()
                log.warning("birthday item %s not given to member %s", level.birthday_item_sku, member_id)
        elif item is not None:
            parts.append(item.title)
    return "、".join(parts) or "生日祝福"


def run_birthdays(day: str | None = None) -> dict[str, Any]:
    today = date.fromisoformat(day) if day else clock.today()
    members = birthday_members(today)
    targets = []
    for member in members:
        gift = give_birthday_gift(member.id, today.year)
        targets.append((member.id, {"nickname": member.nickname or "会员", "gift": gift,
                                    "date": today.isoformat()}))
    run_id = delivery.start_run("birthday", today.isoformat(), "birthday", targets)
    jobs = delivery.fan_out(run_id)
    if members:
        text = delivery.group_text(_template("birthday"), {"count": len(members), "date": today.isoformat()})
        if text:
            delivery.queue_for_robots(f"birthday:{today.isoformat()}", text)
    return {"members": len(members), "run_id": run_id, "jobs": jobs}


# ---- member day
# The programme's settings say which day of the month it is, its multiplier and its name, and whether
# there is one at all. Its campaigns (marked `member_day`) follow the settings for today and the days
# ahead: one that no longer matches is deactivated and loses the mark (it never was a member day), and
# the matching ones are made. One an operator switched off by hand stays off while it matches. Those of
# past days are history and stay as they ran; none is made for a day already past (a back-dated event
# would be multiplied).

def member_day_of(month_start: date) -> date:
    return month_start.replace(day=min(programme.current().member_day_of_month, 28))


def _wanted_campaigns() -> list[tuple[str, int, list[str] | None]]:
    """(name, multiplier, levels or None for everyone) of a member day's campaigns: the programme's
    multiplier for everyone, and a higher one for levels whose rights say so."""
    settings = programme.current()
    by_pct: dict[int, list[str]] = {}
    for level in levels.definitions():
        if level.member_day_multiplier_pct > settings.member_day_multiplier_pct:
            by_pct.setdefault(level.member_day_multiplier_pct, []).append(level.code)
    return [(settings.member_day_name, settings.member_day_multiplier_pct, None)] + [
        (f"{settings.member_day_name}(等级权益 {pct / 100:g} 倍)", pct, codes) for pct, codes in by_pct.items()]


def ensure_member_day_campaign(day: date) -> list[int]:
    """The campaigns that make `day` the member day, as the settings say (campaigns don't stack: the
    best one applies); none when member days are off. On today or a day ahead, the active member-day
    campaigns of that day that no longer match the settings are retired."""
    if not programme.current().member_day_enabled:
        return []
    start = clock.local_midnight(day)
    end = clock.local_midnight(day + timedelta(days=1))
    existing = list(db.session.scalars(select(Campaign).where(
        Campaign.member_day.is_(True), Campaign.starts_at == start).order_by(Campaign.id)))
    ids = []
    for name, pct, codes in _wanted_campaigns():
        campaign = next((c for c in existing if (c.name, c.multiplier_pct, c.level_codes, c.ends_at)
                         == (name, pct, codes, end)), None)
        if campaign is None:
            campaign = Campaign(name=name, grade="B", starts_at=start, ends_at=end, multiplier_pct=pct,
                                level_codes=codes, active=True, member_day=True)
            db.session.add(campaign)
            db.session.flush()
        ids.append(campaign.id)
    if day >= clock.today():
        for campaign in existing:
            if campaign.active and campaign.id not in ids:
                _retire(campaign)
    db.session.commit()
    return ids


def _retire(campaign: Campaign) -> None:
    campaign.active = False
    campaign.member_day = False


def _member_days_ahead() -> list[Campaign]:
    """The active member-day campaigns of today and the days ahead."""
    return list(db.session.scalars(select(Campaign).where(
        Campaign.member_day.is_(True), Campaign.active.is_(True),
        Campaign.starts_at >= clock.local_midnight(clock.today()))))


def prepare_member_days() -> dict[str, Any]:
    """Make this month's (unless past) and next month's member days have their campaigns, and retire
    those of days ahead made under other settings (another day, multiplier or name, or member days off)."""
    ahead = {c.id for c in _member_days_ahead()}
    enabled = programme.current().member_day_enabled
    days: list[date] = []
    if enabled:
        today = clock.today()
        first = today.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        days = [d for d in (member_day_of(first), member_day_of(following)) if d >= today]
    ids = [campaign_id for d in days for campaign_id in ensure_member_day_campaign(d)]
    for campaign in _member_days_ahead():
        if campaign.id not in ids:
            _retire(campaign)
    db.session.commit()
    summary = ({"member_day": True, "days": [d.isoformat() for d in days], "campaigns": len(ids)} if enabled
               else {"member_day": False, "reason": "disabled"})
    return {**summary, "deactivated": len(ahead - set(ids))}


def run_member_day(day: str | None = None) -> dict[str, Any]:
    settings = programme.current()
    if not settings.member_day_enabled:
        return {"member_day": False, "reason": "disabled"}
    today = date.fromisoformat(day) if day else clock.today()
    if today != member_day_of(today.replace(day=1)):
        return {"member_day": False}
    ensure_member_day_campaign(today)
    opted_in = db.session.execute(
        select(Member.id, Member.nickname).join(SubscribeGrant, SubscribeGrant.member_id == Member.id)
        .where(Member.status == "active", SubscribeGrant.template_code == "member_day", SubscribeGrant.remaining > 0)
        .order_by(Member.id)).all()
    multiplier = f"{settings.member_day_multiplier_pct / 100:g}"
    targets = [(member_id, {"nickname": nickname or "会员", "multiplier": multiplier, "date": today.isoformat(),
                            "name": settings.member_day_name}) for member_id, nickname in opted_in]
    run_id = delivery.start_run("member_day", today.isoformat(), "member_day", targets)
    jobs = delivery.fan_out(run_id)
    text = delivery.group_text(_template("member_day"), {"count": len(targets), "date": today.isoformat(),
                                                         "multiplier": multiplier, "name": settings.member_day_name})
    if text:
        delivery.queue_for_robots(f"member_day:{today.isoformat()}", text)
    return {"member_day": True, "members": len(targets), "run_id": run_id, "jobs": jobs}


def run_campaign_announcements(day: str | None = None) -> dict[str, Any]:
    """Campaigns starting today with a message (grade S, A or B, made by operators): a push to the
    members who accepted campaign messages (those of the campaign's levels and segment, if it has
    any) and the announcement to the operators' WeCom group."""
    today = date.fromisoformat(day) if day else clock.today()
    start, end = clock.local_midnight(today), clock.local_midnight(today + timedelta(days=1))
    announced = {}
    for campaign in db.session.scalars(select(Campaign).where(
            Campaign.active.is_(True), Campaign.message.is_not(None), Campaign.starts_at >= start,
            Campaign.starts_at < end).order_by(Campaign.id)).all():
        query = (select(Member.id, Member.nickname).join(SubscribeGrant, SubscribeGrant.member_id == Member.id)
                 .where(Member.status == "active", SubscribeGrant.template_code == "campaign",
                        SubscribeGrant.remaining > 0).order_by(Member.id))
        if campaign.level_codes:
            query = query.join(MemberLevel, MemberLevel.member_id == Member.id).where(
                MemberLevel.level_code.in_(campaign.level_codes))
        if campaign.segment:
            query = query.where(Member.id.in_(segments.members_in_segment(campaign.segment)))
        multiplier = f"{campaign.multiplier_pct / 100:g}"
        variables = {"campaign": campaign.name, "message": campaign.message, "multiplier": multiplier}
        targets = [(m, {**variables, "nickname": n or "会员"}) for m, n in db.session.execute(query).all()]
        run_id = delivery.start_run("campaign", f"{campaign.id}:{today.isoformat()}", "campaign", targets)
        delivery.fan_out(run_id)
        text_ = delivery.group_text(_template("campaign"), {**variables, "count": len(targets)})
        if text_:
            delivery.queue_for_robots(f"campaign:{campaign.id}", text_)
        announced[campaign.name] = len(targets)
    return announced


# ---- expiry

def run_points_maintenance() -> dict[str, Any]:
    return {"released": maintenance.release_due_pending(), "expired": maintenance.expire_due_lots(),
            "forfeited": maintenance.forfeit_closed_accounts()}


def run_level_expiry() -> dict[str, int]:
    return levels.expire_due()


def run_expiry_warnings(day: str | None = None) -> dict[str, Any]:
    """Points expiring in 30 and 7 days, and levels expiring in 30 and 7 days: one push each."""
    today = date.fromisoformat(day) if day else clock.today()
    result: dict[str, Any] = {}
    automation = automations.switched_on("points_expiring")
    if automation is not None:
        for ahead in (30, 7):
            start = clock.local_midnight(today + timedelta(days=ahead))
            query = (select(PointsLot.member_id, func.sum(PointsLot.remaining), Member.nickname)
                     .join(Member, Member.id == PointsLot.member_id)
                     .where(PointsLot.status == "active", PointsLot.remaining > 0, PointsLot.expires_at > start,
                            PointsLot.expires_at <= start + timedelta(days=1), Member.status == "active")
                     .group_by(PointsLot.member_id, Member.nickname))
            if automation.segment:
                query = query.where(Member.id.in_(segments.members_in_segment(automation.segment)))
            rows = db.session.execute(query).all()
            last_day = (today + timedelta(days=ahead)).isoformat()
            targets = [(m, {"nickname": n or "会员", "points": int(p), "date": last_day}) for m, p, n in rows]
            run_id = delivery.start_run("points_expiring", f"{today.isoformat()}+{ahead}", "points_expiring", targets)
            result[f"points_{ahead}"] = {"members": len(targets), "jobs": delivery.fan_out(run_id)}
    levels.notify_expiring()
    notices = db.session.execute(
        select(LevelNotice.member_id, LevelNotice.level_code, LevelNotice.due_on, Member.nickname)
        .join(Member, Member.id == LevelNotice.member_id)
        .where(LevelNotice.kind.in_(("level_expiring_30", "level_expiring_7")), LevelNotice.sent_at.is_(None),
               Member.status == "active")).all()
    targets = [(m, {"nickname": n or "会员", "level": (levels.by_code(code).name if levels.by_code(code) else code),
                    "date": due.isoformat() if due else ""}) for m, code, due, n in notices]
    run_id = delivery.start_run("level_expiring", today.isoformat(), "level_expiring", targets)
    db.session.execute(LevelNotice.__table__.update().where(
        LevelNotice.kind.in_(("level_expiring_30", "level_expiring_7")), LevelNotice.sent_at.is_(None))
        .values(sent_at=clock.now()))
    db.session.commit()
    result["levels"] = {"members": len(targets), "jobs": delivery.fan_out(run_id)}
    return result


# ---- win-back

def run_win_back(day: str | None = None) -> dict[str, Any]:
    """Members silent for exactly `silent_days` today (no login, no earning since): one push per
    silence, and the optional inactivity penalty through the ledger."""
    today = date.fromisoformat(day) if day else clock.today()
    silent_since = clock.local_midnight(today - timedelta(days=WIN_BACK["silent_days"]))
    last_event = (select(EarningEvent.member_id, func.max(EarningEvent.occurred_at).label("at"))
                  .group_by(EarningEvent.member_id).subquery())
    last_active = func.greatest(func.coalesce(Member.last_login_at, Member.created_at),
                                func.coalesce(last_event.c.at, Member.created_at))
    rows = db.session.execute(
        select(Member.id, Member.nickname, func.coalesce(PointAccount.available, 0))
        .outerjoin(last_event, last_event.c.member_id == Member.id)
        .outerjoin(PointAccount, PointAccount.member_id == Member.id)
        .where(Member.status == "active", last_active >= silent_since,
               last_active < silent_since + timedelta(days=1))).all()
    penalty = WIN_BACK["penalty_points"]
    for member_id, _, available in rows:
        if penalty and available:
            ledger.adjust(member_id, -min(penalty, int(available)), key=f"inactive:{member_id}:{silent_since.date()}",
                          reason=f"连续 {WIN_BACK['silent_days']} 天未活跃", operator_id=None, penalty=True,
                          reason_code="inactivity_penalty")
    targets = [(m, {"nickname": n or "会员", "points": int(a)}) for m, n, a in rows]
    run_id = delivery.start_run("win_back", today.isoformat(), "win_back", targets)
    return {"members": len(targets), "jobs": delivery.fan_out(run_id)}


# ---- the daily report

def daily_figures(day: date) -> dict[str, int]:
    start, end = clock.local_midnight(day), clock.local_midnight(day + timedelta(days=1))

    def count(query) -> int:
        return int(db.session.scalar(query) or 0)

    issued = select(func.sum(LedgerEntry.amount)).where(
        LedgerEntry.currency == "points", LedgerEntry.amount > 0, LedgerEntry.kind == "earn",
        LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
    spent = select(-func.sum(LedgerEntry.amount)).where(
        LedgerEntry.currency == "points", LedgerEntry.kind == "spend",
        LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
    return {
        "new_members": count(select(func.count()).where(Member.created_at >= start, Member.created_at < end)),
        "active_members": count(select(func.count(func.distinct(EarningEvent.member_id))).where(
            EarningEvent.occurred_at >= start, EarningEvent.occurred_at < end)),
        "points_issued": count(issued), "points_spent": count(spent),
        "orders": count(select(func.count()).where(Order.created_at >= start, Order.created_at < end)),
        "members_total": count(select(func.count()).where(Member.status == "active")),
    }


def send_daily_report(day: str | None = None) -> dict[str, int]:
    today = date.fromisoformat(day) if day else clock.today()
    figures = daily_figures(today)
    name = programme.current().points_name
    text = (f"## {programme.current().name} 日报 {today.isoformat()}\n"
            f"> 新会员:**{figures['new_members']}**(累计 {figures['members_total']})\n"
            f"> 活跃会员:{figures['active_members']}\n"
            f"> 发放{name}:{figures['points_issued']},兑换消耗:{figures['points_spent']}\n"
            f"> 商城订单:{figures['orders']}")
    delivery.queue_for_robots(f"report:{today.isoformat()}", text, markdown=True)
    return figures
