"""Check-in actions. Each takes the member's check-in lock (an advisory lock), so double taps,
parallel requests and a make-up racing today's check-in are applied one after the other; the
unique (member, day) row makes a second check-in for a day impossible regardless."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert

from app import clock, locks, snapshots
from app.checkin.models import Checkin, CheckinSettings
from app.earning import engine
from app.earning.models import EarningEvent
from app.errors import Conflict, Unauthorized, Unprocessable
from app.extensions import db
from app.members.models import Member
from app.points import service as ledger
from config.earning import DEMO_CHECKIN


@dataclass
class CheckinResult:
    day: date
    streak: int
    points: int
    growth: int
    monthly_bonus: int
    made_up: bool = False


snapshots.watch(CheckinSettings, "checkin_settings")


def load_settings(session) -> CheckinSettings:
    row = session.get(CheckinSettings, 1)
    if row is None:  # a new database: the demo table, written in the loader's own transaction
        session.execute(insert(CheckinSettings).values(id=1, **DEMO_CHECKIN).on_conflict_do_nothing())
        session.commit()
        row = session.get(CheckinSettings, 1)
    return row


def settings() -> CheckinSettings:
    """The check-in table (a detached row from a process-wide snapshot, see `app.snapshots`)."""
    return snapshots.get("checkin_settings", load_settings)


def event_id(member_id: int, day: date) -> str:
    """The id of a day's check-in event: what the day earned is that event's outcome."""
    return f"checkin:{member_id}:{day.isoformat()}"


def reward_for(streak: int, cycle: list[int]) -> int:
    return cycle[(streak - 1) % len(cycle)] if cycle else 0


def _lock_name(member_id: int) -> str:
    """The lock that serialises a member's check-ins and make-ups: the one the engine takes for check-in events."""
    return locks.earning("checkin", member_id)


def _lock(member_id: int) -> None:
    locks.hold(_lock_name(member_id))


# Today's row with its streak (yesterday's plus one) and the month's count including it, for an
# active member; no row back means already checked in today, or no such member. It runs once the
# member's check-in lock is granted (sent with it in one round trip), so a make-up committed just
# before is seen.
_CHECK_IN_SQL = text("""
INSERT INTO checkins (member_id, day, made_up, streak, created_at)
SELECT id, :day, false,
       COALESCE((SELECT streak FROM checkins WHERE member_id = :member_id AND day = :yesterday), 0) + 1, :now
FROM members WHERE id = :member_id AND status = 'active'
ON CONFLICT ON CONSTRAINT uq_checkins_member_day DO NOTHING
RETURNING id, streak,
    (SELECT count(*) FROM checkins WHERE member_id = :member_id AND day >= :first AND day < :after) + 1 AS month_days
""")


def check_in(member_id: int) -> CheckinResult:
    """Check in for today (business day in the programme's time zone)."""
    day = clock.today()
    first, after = _month(day)
    cfg = settings()
    row = locks.hold_then(_lock_name(member_id), _CHECK_IN_SQL, {
        "member_id": member_id, "day": day, "yesterday": day - timedelta(days=1), "now": clock.now(),
        "first": first, "after": after})
    if row is None:
        db.session.rollback()
        if not db.session.scalar(select(Member.id).where(Member.id == member_id, Member.status == "active")):
            raise Unauthorized("账号不存在或已注销", code="member_inactive")
        raise Conflict("今天已经签到过了,明天再来吧", code="already_checked_in")
    # without a monthly reward to add, the day's event commits the check-in itself (in one round
    # trip with its last statement, when it has nothing more to decide)
    monthly = _monthly_reward(cfg, row.month_days)
    result = engine.process(engine.Event("checkin", member_id, event_id(member_id, day),
                                         attributes={"points": reward_for(row.streak, cfg.cycle_rewards),
                                                     "streak": row.streak}), commit=not monthly)
    bonus = 0
    if monthly:
        bonus = _monthly_bonus(member_id, day, cfg, row.month_days)
        db.session.commit()
    return CheckinResult(day, row.streak, result.points, result.growth, bonus)


def _month(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1)


def make_up(member_id: int, day: date) -> CheckinResult:
    """Check in for a missed day of the current month (补签): limited per month, maybe costing points.
    It earns the cycle's first-day reward and repairs the streak running through that day."""
    today = clock.today()
    if not (day < today and (day.year, day.month) == (today.year, today.month)):
        raise Unprocessable("只能补签本月今天以前的日期", code="makeup_day_invalid")
    _lock(member_id)
    cfg = settings()
    used = db.session.scalar(select(func.count()).where(
        Checkin.member_id == member_id, Checkin.made_up.is_(True), Checkin.day >= today.replace(day=1)))
    if used >= cfg.makeups_per_month:
        db.session.rollback()
        raise Conflict("本月补签次数已用完", code="makeups_exhausted")
    row_id = db.session.execute(
        insert(Checkin).values(member_id=member_id, day=day, made_up=True, streak=1, created_at=clock.now())
        .on_conflict_do_nothing(constraint="uq_checkins_member_day").returning(Checkin.id)).scalar()
    if row_id is None:
        db.session.rollback()
        raise Conflict("这一天已经签到过了", code="already_checked_in")
    if cfg.makeup_cost_points:
        ledger.spend(member_id, cfg.makeup_cost_points, key=f"makeup:{member_id}:{day.isoformat()}",
                     reason_code="checkin_makeup", reason=f"补签 {day.isoformat()}", source_type="checkin",
                     source_id=str(row_id), commit=False)
    streak = _restreak(member_id, day)
    reward = reward_for(1, cfg.cycle_rewards)
    result = engine.process(engine.Event("checkin", member_id, event_id(member_id, day),
                                         occurred_at=clock.local_midnight(day) + timedelta(hours=12),
                                         attributes={"points": reward, "streak": streak, "made_up": True}),
                            commit=False)
    bonus = _monthly_bonus(member_id, today, cfg, _month_days(member_id, today))
    db.session.commit()
    return CheckinResult(day, streak, result.points, result.growth, bonus, made_up=True)


def _restreak(member_id: int, day: date) -> int:
    """Recompute the streaks from `day` forward through the consecutive days after it; return day's."""
    previous = db.session.scalar(select(Checkin.streak).where(Checkin.member_id == member_id,
                                                              Checkin.day == day - timedelta(days=1)))
    streak = (previous or 0) + 1
    db.session.execute(text("""
        WITH RECURSIVE run AS (
            SELECT day, CAST(:streak AS integer) AS streak FROM checkins WHERE member_id = :m AND day = :d
            UNION ALL
            SELECT c.day, run.streak + 1 FROM checkins c JOIN run ON c.day = run.day + 1 WHERE c.member_id = :m
        )
        UPDATE checkins c SET streak = run.streak FROM run WHERE c.member_id = :m AND c.day = run.day
    """), {"m": member_id, "d": day, "streak": streak})
    return streak


def _month_days(member_id: int, day: date) -> int:
    first, after = _month(day)
    return db.session.scalar(select(func.count()).where(
        Checkin.member_id == member_id, Checkin.day >= first, Checkin.day < after))


def _monthly_reward(cfg: CheckinSettings, count: int) -> int:
    """The monthly cumulative reward for reaching `count` days this month (0 if `count` is no threshold)."""
    return int(cfg.monthly_rewards.get(str(count), 0))


def _monthly_bonus(member_id: int, day: date, cfg: CheckinSettings, count: int) -> int:
    """Give a monthly cumulative reward when this check-in makes `count` days, one of its thresholds (once)."""
    reward = _monthly_reward(cfg, count)
    if not reward:
        return 0
    result = engine.process(engine.Event("checkin_monthly", member_id,
                                         f"checkin-monthly:{member_id}:{day:%Y-%m}:{count}",
                                         attributes={"points": reward, "days": count}), commit=False)
    return result.points


def calendar(member_id: int, month: date) -> dict:
    """A month's check-ins, the current streak, what today and tomorrow give, make-ups left."""
    cfg = settings()
    today = clock.today()
    first = month.replace(day=1)
    after = (first + timedelta(days=32)).replace(day=1)
    rows = db.session.execute(select(Checkin).where(Checkin.member_id == member_id, Checkin.day >= first,
                                                    Checkin.day < after).order_by(Checkin.day)).scalars().all()
    recent = dict(db.session.execute(select(Checkin.day, Checkin.streak).where(
        Checkin.member_id == member_id, Checkin.day.in_([today, today - timedelta(days=1)]))).all())
    checked_today = today in recent
    streak = recent.get(today) or recent.get(today - timedelta(days=1)) or 0
    next_streak = streak + 1
    used = db.session.scalar(select(func.count()).where(
        Checkin.member_id == member_id, Checkin.made_up.is_(True), Checkin.day >= today.replace(day=1)))
    this_month = len(rows) if first == today.replace(day=1) else None
    earned = dict(db.session.execute(select(EarningEvent.event_id, EarningEvent.points).where(
        EarningEvent.source == "app", EarningEvent.event_id.in_([event_id(member_id, r.day) for r in rows]))).all())
    thresholds = sorted((int(k), int(v)) for k, v in (cfg.monthly_rewards or {}).items())
    db.session.rollback()
    return {
        "month": f"{first:%Y-%m}",
        "days": [{"day": r.day.isoformat(), "made_up": r.made_up, "points": earned.get(event_id(member_id, r.day), 0)}
                 for r in rows],
        "checked_today": checked_today,
        "streak": streak,
        "today_reward": None if checked_today else reward_for(next_streak, cfg.cycle_rewards),
        "tomorrow_reward": reward_for(next_streak if checked_today else next_streak + 1, cfg.cycle_rewards),
        "cycle_rewards": list(cfg.cycle_rewards),
        "monthly_rewards": [{"days": d, "points": p, "reached": this_month is not None and this_month >= d}
                            for d, p in thresholds],
        "makeups_left": max(0, cfg.makeups_per_month - used),
        "makeup_cost_points": cfg.makeup_cost_points,
    }
