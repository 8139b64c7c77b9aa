"""Operators' changes to task definitions, checked against the event catalogue.

Tasks are never deleted (claims point at them); an operator deactivates one instead, which takes it
out of the members' list. A task's code is part of its rewards' event ids
(`task:{code}:{member}:{period}`), so once a reward has been claimed the code is fixed: renaming it
would free the old code for a new task whose rewards would collide with the paid ones."""
from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound, Unprocessable
from app.extensions import db
from app.taskcenter.models import TaskClaim, TaskDefinition
from config.earning import EVENT_TYPES

# A task counting its own rewards would move itself forward; refunds are not something to ask for.
NOT_TASK_EVENTS = {"task_reward", "refund"}


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    if fields["event_type"] not in EVENT_TYPES or fields["event_type"] in NOT_TASK_EVENTS:
        raise Unprocessable(f"未知或不可用于任务的事件类型: {fields['event_type']}", code="unknown_event_type")
    return fields


def _code_taken(code: str, task_id: int | None = None) -> bool:
    query = select(TaskDefinition.id).where(TaskDefinition.code == code)
    if task_id is not None:
        query = query.where(TaskDefinition.id != task_id)
    return db.session.scalar(query) is not None


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError:  # the same code saved by a parallel request
        db.session.rollback()
        raise Conflict("任务编码已存在", code="task_code_taken")


def list_tasks() -> list[TaskDefinition]:
    """Every task, inactive ones too, in the members' order."""
    return list(db.session.scalars(select(TaskDefinition).order_by(TaskDefinition.sort, TaskDefinition.id)))


def create_task(fields: dict[str, Any]) -> TaskDefinition:
    _checked(fields)
    if _code_taken(fields["code"]):
        raise Conflict("任务编码已存在", code="task_code_taken")
    task = TaskDefinition(**fields)
    db.session.add(task)
    _commit()
    return task


def replace_task(task_id: int, fields: dict[str, Any]) -> TaskDefinition:
    task = db.session.get(TaskDefinition, task_id)
    if task is None:
        raise NotFound("任务不存在", code="unknown_task")
    _checked(fields)
    if fields["code"] != task.code:
        if _code_taken(fields["code"], task_id):
            raise Conflict("任务编码已存在", code="task_code_taken")
        if db.session.scalar(select(exists().where(TaskClaim.task_id == task_id))):
            raise Conflict("已有会员领取过该任务的奖励,任务编码不可修改", code="task_code_locked")
    for name, value in fields.items():
        setattr(task, name, value)
    _commit()
    return task
