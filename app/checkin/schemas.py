"""Operator shapes for the check-in table (the member's calendar is shaped by its service)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

MAX_DAY_REWARD = 1_000_000

Reward = Annotated[StrictInt, Field(ge=0, le=MAX_DAY_REWARD)]
MonthDay = Annotated[str, Field(pattern=r"^([1-9]|[12][0-9]|3[01])$")]


class CheckinSettingsBody(BaseModel):
    """The whole table, replaced at once. Integers only: "5" or 5.0 is refused, not coerced."""

    model_config = ConfigDict(extra="forbid")
    cycle_rewards: list[Reward] = Field(min_length=1, max_length=31,
                                        description="连续签到第 N 天的积分(周期长度 = 天数,1 到 31 天),如 5,5,10,10,15,15,50")
    monthly_rewards: dict[MonthDay, Reward] = Field(default_factory=dict, max_length=31,
                                                    description="当月累计签到天数 → 额外积分(每月一次),如 10:20, 20:50, 28:100")
    makeups_per_month: StrictInt = Field(ge=0, le=31, description="每月可补签次数")
    makeup_cost_points: StrictInt = Field(ge=0, le=MAX_DAY_REWARD, description="每次补签消耗的积分,0 为免费")


class CheckinSettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    cycle_rewards: list[int]
    monthly_rewards: dict[str, int]
    makeups_per_month: int
    makeup_cost_points: int
    updated_at: datetime | None
