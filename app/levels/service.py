"""Level placement: promotion inside the growth's transaction, expiry and downgrade by a daily job.

Lock order, everywhere: the member's points account first (the ledger's per-member lock), then
their `member_levels` row. Earning takes them in that order; the expiry job does the same, so the
two never deadlock, and concurrent growth earns of one member promote once.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert

from app import clock, signals, snapshots
from app.earning.models import EarningEvent
from app.extensions import db
from app.levels.models import LevelChange, LevelDefinition, LevelNotice, MemberLevel
from app.points import service as ledger
from app.points.errors import UnknownMember
from app.points.models import PointAccount
from app.points.posting import lock_account
from app.programme import service as programme


snapshots.watch(LevelDefinition, "levels")


def definitions() -> list[LevelDefinition]:
    """Levels, lowest first (detached rows from a process-wide snapshot, see `app.snapshots`)."""
    return snapshots.get("levels", lambda session: list(
        session.scalars(select(LevelDefinition).order_by(LevelDefinition.rank))))


def forget_definitions() -> None:
    snapshots.invalidate("levels")


def by_code(code: str) -> LevelDefinition | None:
    return next((d for d in definitions() if d.code == code), None)


def _has_purchase(member_id: int) -> bool:
    return db.session.scalar(select(EarningEvent.id).where(
        EarningEvent.member_id == member_id, EarningEvent.event_type == "purchase").limit(1)) is not None


def earned_level(member_id: int, growth: int) -> LevelDefinition | None:
    """The highest level this growth (and the member's record) earns."""
    purchased: bool | None = None
    for level in reversed(definitions()):
        if growth < level.threshold:
            continue
        if level.condition == "first_purchase":
            purchased = _has_purchase(member_id) if purchased is None else purchased
            if not purchased:
                continue
        return level
    return None


def _expiry(level: LevelDefinition, start: datetime) -> datetime | None:
    return start + relativedelta(months=level.validity_months) if level.validity_months else None


def _state(member_id: int) -> MemberLevel | None:
    """The member's level row, locked (created at the lowest level the first time)."""
    state = db.session.get(MemberLevel, member_id, with_for_update=True, populate_existing=True)
    if state is None and definitions():
        lowest = definitions()[0]
        db.session.execute(insert(MemberLevel).values(
            member_id=member_id, level_code=lowest.code, reached_at=clock.now(),
            expires_at=_expiry(lowest, clock.now())).on_conflict_do_nothing())
        state = db.session.get(MemberLevel, member_id, with_for_update=True, populate_existing=True)
    return state


def _rank(code: str) -> int:
    level = by_code(code)
    return level.rank if level else -1


def _place(state: MemberLevel, target: LevelDefinition, reason: str, detail: str | None = None) -> None:
    at = clock.now()
    before = state.level_code
    state.level_code, state.reached_at, state.expires_at = target.code, at, _expiry(target, at)
    change = LevelChange(member_id=state.member_id, from_code=before, to_code=target.code, reason=reason,
                         detail=detail, created_at=at)
    db.session.add(change)
    db.session.flush()
    kind = "level_up" if target.rank > _rank(before) else "level_down" if target.rank < _rank(before) else "level_renewed"
    db.session.execute(insert(LevelNotice).values(member_id=state.member_id, kind=kind, level_code=target.code,
                                                  ref=f"change:{change.id}", created_at=at).on_conflict_do_nothing())
    signals.level_changed.send(None, member_id=state.member_id, from_code=before, to_code=target.code,
                               up=kind == "level_up")


_LEVEL_CODE = select(MemberLevel.level_code).where(MemberLevel.member_id == bindparam("member_id"))
_NOT_READ = object()


def on_growth_changed(sender, *, member_id: int, growth: int, delta: int, reason_code: str,
                      stored_level: str | None | object = _NOT_READ) -> None:
    """Inside the ledger's transaction: promote at once; on growth taken back, drop if the programme says so.
    `stored_level` is the member's level code as stored, when the sender read it after taking the
    account lock (the earning engine does, in its outcome statement)."""
    if not definitions():
        return
    if delta > 0:
        # Every writer of member_levels holds the member's account lock first, as this transaction
        # does now, so a plain read is current; most earns promote nobody and stop here.
        # A level with a condition (first purchase) is looked at only when this growth crosses its
        # threshold; a purchase made after crossing it promotes through `on_purchase_recorded`.
        code = stored_level if stored_level is not _NOT_READ else (
            db.session.execute(_LEVEL_CODE, {"member_id": member_id}).scalar())
        if code is not None and not any(
                level.rank > _rank(code) and growth >= level.threshold
                and (level.condition == "growth" or growth - delta < level.threshold) for level in definitions()):
            return
        state = _state(member_id)
        target = earned_level(member_id, growth)
        if state is not None and target is not None and target.rank > _rank(state.level_code):
            _place(state, target, "promotion", f"成长值 {growth}")
    elif delta < 0 and not reason_code.startswith("level_") and programme.current().downgrade_on_growth_reversal:
        state = _state(member_id)
        target = earned_level(member_id, growth)
        if state is not None and target is not None and target.rank < _rank(state.level_code):
            _place(state, target, "growth_reversed", f"成长值扣回后为 {growth}")


def growth_leaves_level_alone(placed_code: str | None, growth: int, delta: int) -> bool:
    """Whether `on_growth_changed` certainly does nothing for an earn of `delta` growth (to
    `growth`) by a member placed at `placed_code`, whatever level they hold by the time it runs.

    `placed_code` may be read before the member's account lock: a level change committed in
    between moves the member to another known level, and the answer holds for every known level,
    because no level above the lowest is reached by this growth. A member not placed yet, or at a
    code no level has, is not left alone (the check places them). The earning engine asks, to
    commit an event that does nothing for levels in one round trip."""
    ladder = definitions()
    if not ladder:
        return True
    if delta <= 0 or placed_code is None or by_code(placed_code) is None:
        return False
    lowest = ladder[0].rank
    return not any(level.rank > lowest and growth >= level.threshold
                   and (level.condition == "growth" or growth - delta < level.threshold) for level in ladder)


def on_purchase_recorded(sender, *, member_id: int) -> None:
    """Inside the purchase event's transaction: a first purchase may reach a level (bronze)."""
    if not any(level.condition == "first_purchase" for level in definitions()):
        return
    account = lock_account(member_id)  # the lock order of every level change: account, then level row
    state = _state(member_id)
    target = earned_level(member_id, account.growth)
    if state is not None and target is not None and target.rank > _rank(state.level_code):
        _place(state, target, "promotion", "首次消费")


def level_code_of(member_id: int):
    """The member's stored level code, as a scalar subquery to read along with something else."""
    return select(MemberLevel.level_code).where(MemberLevel.member_id == member_id).scalar_subquery()


def _effective(code: str | None) -> LevelDefinition | None:
    """The level a stored code stands for: the lowest level for a member not yet placed."""
    level = by_code(code) if code is not None else None
    if level is None:
        level = definitions()[0] if definitions() else None
    return level


def effective_code(code: str | None) -> str | None:
    level = _effective(code)
    return level.code if level else None


def level_of(member_id: int) -> tuple[str | None, int]:
    """(level code, earn multiplier %) for the earning engine."""
    level = _effective(db.session.execute(_LEVEL_CODE, {"member_id": member_id}).scalar())
    return (level.code, level.earn_multiplier_pct) if level else (None, 100)


def _growth_after(level: LevelDefinition, growth: int) -> int:
    if level.expiry_action == "reset":
        return 0
    if level.expiry_action == "discount":
        return growth - growth * level.action_percent // 100
    if level.expiry_action == "deduct":
        return growth - growth * level.action_numerator // level.action_denominator
    return growth


_ACTION_WORDS = {"reset": "等级到期,成长值清零", "discount": "等级到期,成长值按比例折算",
                 "deduct": "等级到期,扣减部分成长值", "keep_if_qualified": "等级到期复核"}


def expire_due(batch: int = 500) -> dict[str, int]:
    """Apply each expired level's action through the ledger, then place the member at the level
    the remaining growth earns (renewed for a new period if it is the same level). Idempotent:
    a handled member's level no longer expires today, and the ledger key is per expiry instant."""
    totals = {"expired": 0, "down": 0, "renewed": 0}
    while True:
        at = clock.now()
        due = list(db.session.scalars(select(MemberLevel.member_id).where(MemberLevel.expires_at <= at)
                                      .order_by(MemberLevel.member_id).limit(batch)))
        db.session.rollback()
        if not due:
            return totals
        for member_id in due:
            outcome = _expire_one(member_id, at)
            if outcome:
                totals["expired"] += 1
                totals[outcome] += 1


def _expire_one(member_id: int, at: datetime) -> str | None:
    try:
        account = lock_account(member_id)
    except UnknownMember:  # an erased member keeps no level
        db.session.execute(MemberLevel.__table__.delete().where(MemberLevel.member_id == member_id))
        db.session.commit()
        return None
    state = _state(member_id)
    if state is None or state.expires_at is None or state.expires_at > at:
        db.session.rollback()
        return None
    level = by_code(state.level_code) or definitions()[0]
    remaining = _growth_after(level, account.growth)
    if remaining != account.growth:
        ledger.adjust(member_id, remaining - account.growth, key=f"level-expiry:{member_id}:{state.expires_at.isoformat()}",
                      reason=f"{_ACTION_WORDS[level.expiry_action]}({level.name})", operator_id=None,
                      currency="growth", reason_code=f"level_expiry_{level.expiry_action}", commit=False)
    target = earned_level(member_id, remaining) or definitions()[0]
    _place(state, target, "expired", level.expiry_action)
    db.session.commit()
    return "renewed" if target.code == level.code else "down"


def notify_expiring(days: tuple[int, ...] = (30, 7)) -> int:
    """Record 'level expiring in N days' notices (once per member, N and expiry)."""
    today = clock.today()
    added = 0
    for ahead in days:
        start = clock.local_midnight(today + timedelta(days=ahead))
        rows = db.session.execute(select(MemberLevel.member_id, MemberLevel.level_code, MemberLevel.expires_at)
                                  .where(MemberLevel.expires_at >= start,
                                         MemberLevel.expires_at < start + timedelta(days=1))).all()
        for member_id, code, expires_at in rows:
            added += db.session.execute(insert(LevelNotice).values(
                member_id=member_id, kind=f"level_expiring_{ahead}", level_code=code, ref=expires_at.isoformat(),
                due_on=clock.business_date(expires_at), created_at=clock.now())
                .on_conflict_do_nothing().returning(LevelNotice.id)).scalar() is not None
    db.session.commit()
    return added


def growth_to_keep(level: LevelDefinition, growth: int) -> int | None:
    """More growth needed before expiry to stay at `level` after its action; None if it cannot be kept."""
    if level.validity_months is None or level.threshold == 0:
        return 0
    kept = {"reset": (0, 1), "discount": (100 - level.action_percent, 100),
            "deduct": (level.action_denominator - level.action_numerator, level.action_denominator)
            }.get(level.expiry_action, (1, 1))
    if kept[0] == 0:
        return None
    needed = -(-level.threshold * kept[1] // kept[0])  # ceiling
    while _growth_after(level, needed) < level.threshold:  # integer rounding: a step or two at most
        needed += 1
    return max(0, needed - growth)


def member_view(member_id: int) -> dict:
    state = db.session.get(MemberLevel, member_id)
    account = db.session.get(PointAccount, member_id)
    growth = account.growth if account else 0
    levels = definitions()
    current = by_code(state.level_code) if state else (levels[0] if levels else None)
    higher = [lv for lv in levels if current is None or lv.rank > current.rank]
    following = higher[0] if higher else None
    history = db.session.scalars(select(LevelChange).where(LevelChange.member_id == member_id)
                                 .order_by(LevelChange.id.desc()).limit(50)).all()
    return {
        "level": describe(current) if current else None,
        "reached_at": state.reached_at if state else None,
        "expires_at": state.expires_at if state else None,
        "growth": growth,
        "growth_to_keep": growth_to_keep(current, growth) if current else None,
        "next_level": describe(following) if following else None,
        "growth_to_next": max(0, following.threshold - growth) if following else None,
        "history": [{"from": h.from_code, "to": h.to_code, "reason": h.reason, "detail": h.detail,
                     "at": h.created_at} for h in history],
    }


def describe(level: LevelDefinition) -> dict:
    condition = f"成长值达到 {level.threshold}"
    if level.condition == "first_purchase":
        condition = "完成首次消费" + (f"且成长值达到 {level.threshold}" if level.threshold else "")
    validity = "永久有效" if not level.validity_months else f"自达到之日起 {level.validity_months} 个月有效"
    rights = []
    if level.earn_multiplier_pct > 100:
        rights.append(f"消费积分 {level.earn_multiplier_pct / 100:g} 倍")
    if level.birthday_points:
        rights.append(f"生日礼 {level.birthday_points} 积分")
    if level.birthday_item_sku:
        rights.append("生日专属礼品")
    if level.member_day_multiplier_pct > 100:
        rights.append(f"会员日 {level.member_day_multiplier_pct / 100:g} 倍积分")
    if level.discount_pct < 100:
        rights.append(f"商城 {level.discount_pct / 10:g} 折")
    rights.extend(level.service_rights or [])
    return {"code": level.code, "name": level.name, "rank": level.rank, "threshold": level.threshold,
            "condition": condition, "validity": validity, "validity_months": level.validity_months,
            "expiry_action": level.expiry_action, "earn_multiplier_pct": level.earn_multiplier_pct,
            "birthday_points": level.birthday_points, "member_day_multiplier_pct": level.member_day_multiplier_pct,
            "discount_pct": level.discount_pct, "rights": rights}


def catalogue() -> list[dict]:
    return [describe(level) for level in definitions()]


def count_by_level() -> dict[str, int]:
    return dict(db.session.execute(select(MemberLevel.level_code, func.count()).group_by(MemberLevel.level_code)).all())
