"""Operator shapes for task definitions (the member's view is in `routes`)."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

MAX_TASK_REWARD = 1_000_000


class TaskBody(BaseModel):
    """A whole task definition (a create, or a replace of every field)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9_\-]*$",
                      description="任务编码(小程序领取奖励时使用);已有人领取奖励后不可修改")
    title: str = Field(min_length=1, max_length=64)
    kind: Literal["once", "daily", "weekly"] = Field(description="once 一次性, daily 每日, weekly 每周")
    event_type: str = Field(min_length=1, max_length=32, description="计入进度的事件类型,如 browse, share, purchase")
    target: StrictInt = Field(default=1, ge=1, le=1000, description="一个周期内需要的事件次数")
    reward_points: StrictInt = Field(default=0, ge=0, le=MAX_TASK_REWARD)
    reward_growth: StrictInt = Field(default=0, ge=0, le=MAX_TASK_REWARD)
    link: str | None = Field(default=None, max_length=128, description="小程序内跳转页面,如 pages/mall/index")
    sort: StrictInt = Field(default=0, ge=0, le=10_000)
    active: StrictBool = Field(default=True, description="停用后会员的任务列表不再显示,已领取的记录保留")


class TaskAdminOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    title: str
    kind: str
    event_type: str
    target: int
    reward_points: int
    reward_growth: int
    link: str | None
    sort: int
    active: bool
    created_at: datetime


class TaskAdminList(BaseModel):
    items: list[TaskAdminOut]
