"""Shapes of the mall for members, staff and operators."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ItemQuery(Strict):
    category: str | None = Field(default=None, max_length=32)
    affordable: bool = Field(default=False, description="只看积分够兑换的")
    for_my_level: bool = Field(default=False, description="只看我的等级可兑换的")
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=20, ge=1, le=100)


class ItemOut(BaseModel):
    id: int
    sku: str
    kind: str
    category: str
    title: str
    description: str
    images: list[str]
    points_price: int = Field(description="按我的等级折扣后的积分价")
    list_points_price: int
    cash_price_cents: int
    remaining_stock: int
    limit_per_member: int | None
    limit_per_day: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    can_redeem: bool
    reason: str | None = Field(description="不能兑换的原因代码")
    reason_text: str | None


class ItemPage(BaseModel):
    items: list[ItemOut]
    total: int
    page: int


class Address(Strict):
    name: str = Field(min_length=1, max_length=32)
    phone: str = Field(pattern=r"^1\d{10}$")
    region: str = Field(min_length=1, max_length=64)
    detail: str = Field(min_length=1, max_length=200)


class OrderBody(Strict):
    item_id: StrictInt = Field(ge=1)
    quantity: StrictInt = Field(default=1, ge=1, le=10)
    address: Address | None = None


class OrderOut(BaseModel):
    order_no: str
    item_id: int
    item_title: str
    quantity: int
    points_total: int
    cash_total_cents: int
    status: str
    pickup_code: str | None
    pickup_expires_at: datetime | None
    coupon_codes: list[str]
    pay_expires_at: datetime | None
    payment: dict | None = Field(default=None, description="wx.requestPayment 的参数(待支付时)")
    created_at: datetime


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class ItemBody(Strict):
    sku: str = Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_\-]+$")
    kind: Literal["coupon", "pickup", "delivery", "voucher"]
    category: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=5000)
    images: list[str] = Field(default_factory=list, max_length=9)
    points_price: StrictInt = Field(ge=0, le=100_000_000)
    cash_price_cents: StrictInt = Field(default=0, ge=0, le=100_000_000)
    voucher_value_cents: StrictInt = Field(default=0, ge=0, le=100_000_000)
    total_stock: StrictInt = Field(ge=0, le=10_000_000)
    limit_per_member: StrictInt | None = Field(default=None, ge=1)
    limit_per_day: StrictInt | None = Field(default=None, ge=1)
    level_codes: list[str] | None = None
    segment: str | None = Field(default=None, min_length=1, max_length=64,
                                description="目标分群:标签编码或 rfm:<RFM 分群>;设置后仅该分群会员可见、可兑换")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    sort: StrictInt = 0
    status: Literal["draft", "on_sale", "off_sale"] = "draft"
    store_ids: list[StrictInt] | None = Field(default=None, description="到店自提商品的自提门店")
    coupon_codes: list[str] | None = Field(default=None, max_length=100_000, description="追加到券码池")

    @model_validator(mode="after")
    def _coherent(self):
        if self.points_price == 0 and self.cash_price_cents == 0:
            raise ValueError("积分价与现金价不能同时为 0")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at 须晚于 starts_at")
        if any(at is not None and at.tzinfo is None for at in (self.starts_at, self.ends_at)):
            raise ValueError("时间须带时区")
        return self


class AdminItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    sku: str
    kind: str
    category: str
    title: str
    points_price: int
    cash_price_cents: int
    total_stock: int
    remaining_stock: int
    status: str
    segment: str | None = None


class StoreBody(Strict):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=64)
    city: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=200)


class StaffBody(Strict):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    password: str = Field(min_length=8, max_length=128)
    role: Literal["clerk", "store_manager", "operator", "admin"] = "clerk"
    store_ids: list[StrictInt] = Field(default_factory=list)
    display_name: str | None = Field(default=None, max_length=64)
    wecom_userid: str | None = Field(default=None, max_length=64)


class StaffLoginBody(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)


class PickupBody(Strict):
    code: str = Field(pattern=r"^\d{13}$", description="13 位取货码")
    store_id: StrictInt = Field(ge=1)


class AwardBody(Strict):
    member_code: str = Field(pattern=r"^\d{18}$")
    store_id: StrictInt = Field(ge=1)
    amount_cents: StrictInt = Field(ge=1, le=100_000_000)
    receipt_no: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")


class DeductBody(Strict):
    member_code: str = Field(pattern=r"^\d{18}$")
    store_id: StrictInt = Field(ge=1)
    points: StrictInt = Field(ge=1, le=100_000_000)
    bill_cents: StrictInt = Field(ge=1, le=100_000_000)


class PrizeBody(Strict):
    name: str = Field(min_length=1, max_length=64)
    kind: Literal["points", "item", "nothing"]
    points: StrictInt = Field(default=0, ge=0, le=1_000_000)
    item_id: StrictInt | None = None
    weight: StrictInt = Field(ge=1, le=1_000_000)
    stock: StrictInt | None = Field(default=None, ge=0)
    sort: StrictInt = 0
    active: StrictBool = True

    @model_validator(mode="after")
    def _kind(self):
        if self.kind == "points" and not self.points:
            raise ValueError("积分奖品须设置 points")
        if self.kind == "item" and not self.item_id:
            raise ValueError("实物奖品须设置 item_id")
        return self


class LotterySettingsBody(Strict):
    cost_points: StrictInt = Field(ge=0, le=1_000_000)
    daily_limit: StrictInt = Field(ge=1, le=100)
    active: StrictBool = True
