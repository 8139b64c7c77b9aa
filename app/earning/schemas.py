"""Shapes for events, rules and campaigns."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from app.points.posting import MAX_AMOUNT

Category = Literal["execution", "participation", "efficiency", "consumption", "activity"]
Cap = StrictInt | None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MemberRef(Strict):
    """Who the event is about: our member id, or the phone number the brand's CRM knows."""
    id: StrictInt | None = Field(default=None, ge=1)
    phone: str | None = Field(default=None, pattern=r"^1\d{10}$")

    @model_validator(mode="after")
    def _one(self):
        if (self.id is None) == (self.phone is None):
            raise ValueError("member 须且只能提供 id 或 phone 之一")
        return self


class ServerEvent(Strict):
    event_id: str = Field(min_length=1, max_length=128, description="接入方内唯一;重复提交只处理一次")
    type: str = Field(min_length=1, max_length=32, description="purchase, refund, live_stream_watched, course_completed, game_played")
    member: MemberRef
    occurred_at: datetime
    attributes: dict[str, Any] = Field(default_factory=dict, description="purchase/refund: order_id, amount_cents(分)")


class EventBatch(Strict):
    events: list[ServerEvent] = Field(min_length=1, max_length=100)


class RuleResultOut(BaseModel):
    rule: str
    status: str
    reason: str | None
    points: int
    growth: int
    multiplier_pct: int
    campaign: str | None


class EventResultOut(BaseModel):
    event_id: str
    status: Literal["awarded", "rejected", "reversed"]
    points: int
    growth: int
    duplicate: bool
    rules: list[RuleResultOut]


class EventBatchOut(BaseModel):
    results: list[EventResultOut]


class ClientAction(Strict):
    type: Literal["share", "browse"]
    target: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-:./]+$",
                        description="分享或浏览的内容标识;同一内容同一天只计一次")


class RuleBody(Strict):
    code: str = Field(min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    name: str = Field(min_length=1, max_length=64)
    event_type: str = Field(min_length=1, max_length=32)
    category: Category | None = None
    mode: Literal["fixed", "per_yuan", "attribute"] = "fixed"
    points: StrictInt = Field(default=0, ge=0, le=MAX_AMOUNT)
    growth: StrictInt = Field(default=0, ge=0, le=MAX_AMOUNT)
    points_per_yuan: StrictInt = Field(default=0, ge=0, le=10_000)
    growth_per_yuan: StrictInt = Field(default=0, ge=0, le=10_000)
    hold_days: StrictInt = Field(default=0, ge=0, le=366)
    cap_per_day: Cap = Field(default=None, ge=1)
    cap_per_week: Cap = Field(default=None, ge=1)
    cap_per_month: Cap = Field(default=None, ge=1)
    cap_lifetime: Cap = Field(default=None, ge=1)
    budget_points: StrictInt | None = Field(default=None, ge=1, le=10**12)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    level_codes: list[str] | None = Field(default=None, max_length=20)
    apply_level_multiplier: StrictBool = False
    apply_campaign_multiplier: StrictBool = False
    active: StrictBool = True

    @model_validator(mode="after")
    def _coherent(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at 须晚于 starts_at")
        for at in (self.starts_at, self.ends_at):
            if at is not None and at.tzinfo is None:
                raise ValueError("时间须带时区")
        if self.mode == "per_yuan" and not (self.points_per_yuan or self.growth_per_yuan):
            raise ValueError("按金额计算的规则须设置 points_per_yuan 或 growth_per_yuan")
        if self.mode == "fixed" and not (self.points or self.growth):
            raise ValueError("固定奖励的规则须设置 points 或 growth")
        return self


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    event_type: str
    category: str
    mode: str
    points: int
    growth: int
    points_per_yuan: int
    growth_per_yuan: int
    hold_days: int
    cap_per_day: int | None
    cap_per_week: int | None
    cap_per_month: int | None
    cap_lifetime: int | None
    budget_points: int | None
    budget_used: int
    starts_at: datetime | None
    ends_at: datetime | None
    level_codes: list[str] | None
    apply_level_multiplier: bool
    apply_campaign_multiplier: bool
    active: bool


class RuleList(BaseModel):
    items: list[RuleOut]


class CampaignBody(Strict):
    name: str = Field(min_length=1, max_length=64)
    grade: Literal["S", "A", "B"] = "B"
    starts_at: datetime
    ends_at: datetime
    multiplier_pct: StrictInt = Field(ge=100, le=1000, description="200 表示双倍积分")
    event_types: list[str] | None = None
    level_codes: list[str] | None = None
    active: StrictBool = True
    message: str | None = Field(default=None, max_length=500,
                                description="开始当天推送给已订阅会员、并发到运营企业微信群的活动文案")
    segment: str | None = Field(default=None, min_length=1, max_length=64,
                                description="目标分群:标签编码或 rfm:<RFM 分群>;设置后倍数与推送只对该分群会员")

    @model_validator(mode="after")
    def _period(self):
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("时间须带时区")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at 须晚于 starts_at")
        return self


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    grade: str
    starts_at: datetime
    ends_at: datetime
    multiplier_pct: int
    event_types: list[str] | None
    level_codes: list[str] | None
    active: bool
    message: str | None = None
    segment: str | None = None


class IntegrationBody(Strict):
    name: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=500)


class IntegrationOut(BaseModel):
    key_id: str
    name: str
    secret: str = Field(description="仅在创建时返回一次")


class MemberEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    source: str
    event_id: str
    event_type: str
    occurred_at: datetime
    status: str
    points: int
    growth: int
    outcome: list[dict]
    received_at: datetime


class MemberEventPage(BaseModel):
    items: list[MemberEventOut]
    next_cursor: str | None
