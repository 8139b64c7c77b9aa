"""Task progress is counted from the member's recorded events; a reward is claimed once per period."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from app import clock
from app.earning import engine
from app.earning.models import EarningEvent
from app.errors import Conflict, NotFound
from app.extensions import db
from app.taskcenter.models import TaskClaim, TaskDefinition
from config.earning import DEMO_TASKS


def _periods(today: date) -> dict[str, tuple[str, date | None, date | None]]:
    """Per task kind: (period key, first day, day after the last) in business days."""
    week = today - timedelta(days=today.weekday())
    return {"once": ("once", None, None),
            "daily": (today.isoformat(), today, today + timedelta(days=1)),
            "weekly": (f"{week.isocalendar().year}-W{week.isocalendar().week:02d}", week, week + timedelta(days=7))}


def _progress(member_id: int, tasks: list[TaskDefinition], today: date) -> dict[int, int]:
    periods = _periods(today)
    day_start = clock.local_midnight(periods["daily"][1])
    week_start = clock.local_midnight(periods["weekly"][1])
    types = {t.event_type for t in tasks}
    counts = {row.event_type: row for row in db.session.execute(
        select(EarningEvent.event_type,
               func.count().label("once"),
               func.count().filter(EarningEvent.occurred_at >= day_start).label("daily"),
               func.count().filter(EarningEvent.occurred_at >= week_start).label("weekly"))
        .where(EarningEvent.member_id == member_id, EarningEvent.event_type.in_(types))
        .group_by(EarningEvent.event_type))}
    return {t.id: getattr(counts[t.event_type], t.kind) if t.event_type in counts else 0 for t in tasks}


def list_tasks(member_id: int) -> list[dict]:
    today = clock.today()
    periods = _periods(today)
    tasks = list(db.session.scalars(select(TaskDefinition).where(TaskDefinition.active.is_(True))
                                    .order_by(TaskDefinition.sort, TaskDefinition.id)))
    progress = _progress(member_id, tasks, today)
    claimed = set(db.session.execute(select(TaskClaim.task_id, TaskClaim.period).where(
        TaskClaim.member_id == member_id,
        TaskClaim.period.in_([key for key, _, _ in periods.values()]))).all())
    items = []
    for task in tasks:
        key, _, until = periods[task.kind]
        done = min(progress[task.id], task.target)
        status = "claimed" if (task.id, key) in claimed else "claimable" if done >= task.target else "todo"
        items.append({"code": task.code, "title": task.title, "kind": task.kind, "progress": done,
                      "target": task.target, "status": status, "reward_points": task.reward_points,
                      "reward_growth": task.reward_growth, "link": task.link,
                      "resets_at": clock.local_midnight(until).astimezone(clock.zone()).isoformat() if until else None})
    db.session.rollback()
    return items


def claim(member_id: int, code: str) -> dict:
    """Pay a completed task's reward, once per period. Completion is checked from events."""
    task = db.session.scalar(select(TaskDefinition).where(TaskDefinition.code == code, TaskDefinition.active.is_(True)))
    if task is None:
        raise NotFound("任务不存在", code="unknown_task")
    today = clock.today()
    key = _periods(today)[task.kind][0]
    if _progress(member_id, [task], today)[task.id] < task.target:
        raise Conflict("任务尚未完成", code="task_not_done")
    claim_id = db.session.execute(
        insert(TaskClaim).values(task_id=task.id, member_id=member_id, period=key, points=0, growth=0,
                                 created_at=clock.now())
        .on_conflict_do_nothing(constraint="uq_task_claims_once_per_period").returning(TaskClaim.id)).scalar()
    if claim_id is None:
        db.session.rollback()
        raise Conflict("奖励已领取", code="task_already_claimed")
    result = engine.process(engine.Event("task_reward", member_id, f"task:{task.code}:{member_id}:{key}",
                                         attributes={"points": task.reward_points, "growth": task.reward_growth,
                                                     "task": task.code}), commit=False)
    db.session.execute(TaskClaim.__table__.update().where(TaskClaim.id == claim_id)
                       .values(points=result.points, growth=result.growth))
    db.session.commit()
    return {"code": task.code, "points": result.points, "growth": result.growth, "period": key}


def seed_tasks() -> int:
    existing = set(db.session.scalars(select(TaskDefinition.code)))
    added = 0
    for sort, spec in enumerate(DEMO_TASKS):
        if spec["code"] not in existing:
            db.session.add(TaskDefinition(sort=sort, **spec))
            added += 1
    db.session.commit()
    return added
