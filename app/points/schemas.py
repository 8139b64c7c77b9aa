"""Shapes of the value account for members and operators."""
from __future__ import annotations

from datetime import date as Date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from app.pagination import CursorQuery
from app.points.posting import MAX_AMOUNT

Currency = Literal["points", "growth"]
Kind = Literal["earn", "release", "spend", "expire", "adjust", "penalty", "reversal"]


class IdempotencyHeader(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    idempotency_key: str = Field(alias="Idempotency-Key", min_length=8, max_length=128,
                                 description="客户端生成的唯一键;重复提交返回第一次的结果")


class LedgerQuery(CursorQuery):
    currency: Currency | None = None
    kind: Kind | None = None


class Expiring(BaseModel):
    amount: int = Field(description="最近一批将到期的积分")
    date: Date | None = Field(description="最近一批的到期日(营业时区)")
    within_30_days: int = Field(description="30 天内将到期的积分合计")


class PointsView(BaseModel):
    name: str = Field(description="积分的品牌名称,如「巧乐值」")
    available: int
    pending: int
    expiring: Expiring
    money_cents: int = Field(description="可用积分折合金额(分)")
    points_per_yuan: int


class AccountOut(BaseModel):
    points: PointsView
    growth: int
    lifetime_earned: int
    lifetime_spent: int
    expired: int


class EntryOut(BaseModel):
    id: int
    currency: Currency
    bucket: Literal["available", "pending"]
    kind: Kind
    amount: int
    balance_after: int
    reason_code: str
    reason: str
    created_at: datetime


class OperatorEntryOut(EntryOut):
    source_type: str | None
    source_id: str | None
    operator_id: int | None
    reverses_entry_id: int | None
    lot_id: int | None


class LedgerPage(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None


class OperatorLedgerPage(BaseModel):
    items: list[OperatorEntryOut]
    next_cursor: str | None


class AdjustmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    amount: StrictInt = Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, description="正数增加,负数扣减;处罚时取其绝对值扣减")
    currency: Currency = "points"
    penalty: StrictBool = Field(default=False, description="违规处罚(一类单独的流水)")
    reason: str = Field(min_length=2, max_length=200, description="原因,必填,会展示给会员")


class ReversalBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=2, max_length=200)
    amount: StrictInt | None = Field(default=None, ge=1, le=MAX_AMOUNT, description="部分冲正的数量;不填为全部")


class PostedEntryOut(BaseModel):
    id: int
    currency: Currency
    bucket: str
    kind: Kind
    amount: int
    balance_after: int
    lot_id: int | None = None


class OperationOut(BaseModel):
    operation_id: int
    replayed: bool
    entries: list[PostedEntryOut]
    requested: int | None = None
    taken: int | None = None
    shortfall: int | None = None


class PeriodQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: datetime | None = Field(default=None, description="含;默认 30 天前")
    end: datetime | None = Field(default=None, description="不含;默认现在")


class ProgrammeOut(BaseModel):
    name: str
    points_name: str
    points_per_yuan: int
    expiry_policy: Literal["never", "days", "month_end", "annual"]
    expiry_days: int
    expiry_years: int
    poster_template: str = Field(description="默认海报设计")
    referral_qualify_on: Literal["phone", "first_purchase"] = Field(description="邀请达标条件:绑定手机号或首次消费")
    member_day_enabled: bool = Field(description="是否开启会员日")
    member_day_of_month: int = Field(description="会员日:每月几号(1-28)")
    member_day_multiplier_pct: int = Field(description="会员日积分倍数,200 表示双倍;等级权益更高的按等级")
    member_day_name: str = Field(description="会员日名称,会员看到的活动名")


class ProgrammeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, min_length=1, max_length=64)
    points_name: str | None = Field(default=None, min_length=1, max_length=16)
    points_per_yuan: StrictInt | None = Field(default=None, ge=1, le=100_000)
    expiry_policy: Literal["never", "days", "month_end", "annual"] | None = None
    expiry_days: StrictInt | None = Field(default=None, ge=1, le=3650)
    expiry_years: StrictInt | None = Field(default=None, ge=0, le=10)
    poster_template: str | None = Field(default=None, max_length=32)
    referral_qualify_on: Literal["phone", "first_purchase"] | None = None
    member_day_enabled: StrictBool | None = None
    member_day_of_month: StrictInt | None = Field(default=None, ge=1, le=28, description="28 号以内,每个月都有")
    member_day_multiplier_pct: StrictInt | None = Field(default=None, ge=100, le=1000, description="200 表示双倍")
    member_day_name: str | None = Field(default=None, min_length=1, max_length=16)

    @field_validator("poster_template")
    @classmethod
    def _known_design(cls, value: str | None) -> str | None:
        from config.posters import POSTER_TEMPLATES

        if value is not None and value not in POSTER_TEMPLATES:
            raise ValueError(f"海报设计须为 {', '.join(POSTER_TEMPLATES)} 之一")
        return value
