"""The member's task center."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from app.auth.tokens import current_member
from app.members.schemas import ErrorOut
from app.taskcenter import service

bp = APIBlueprint("taskcenter", __name__, url_prefix="/api/v1/tasks", abp_tags=[Tag(name="任务中心")],
                  abp_security=[{"member": []}],
                  abp_responses={"401": ErrorOut, "404": ErrorOut, "409": ErrorOut, "422": ErrorOut})


class TaskPath(BaseModel):
    code: str = Field(min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9_\-]*$")


class TaskOut(BaseModel):
    code: str
    title: str
    kind: str = Field(description="once 一次性, daily 每日, weekly 每周")
    progress: int
    target: int
    status: str = Field(description="todo 未完成, claimable 可领取, claimed 已领取")
    reward_points: int
    reward_growth: int
    link: str | None
    resets_at: str | None


class TaskList(BaseModel):
    items: list[TaskOut]


class ClaimOut(BaseModel):
    code: str
    points: int
    growth: int
    period: str


@bp.get("", responses={200: TaskList})
def list_tasks():
    """我的任务:进度与状态(由事件自动累计)"""
    return TaskList(items=service.list_tasks(current_member().id)).model_dump(mode="json")


@bp.post("/<code>/claim", responses={201: ClaimOut})
def claim(path: TaskPath):
    """领取已完成任务的奖励(每个周期一次)"""
    return ClaimOut(**service.claim(current_member().id, path.code)).model_dump(), 201
