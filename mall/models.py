"""Gift mall tables: items and their stock, coupon code pools, orders and their transitions,
lottery prizes and draws. Stock is never negative (CHECK) and never more than was put in."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Identity, Index, Integer, String,
                        Text, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db

ITEM_KINDS = ("coupon", "pickup", "delivery", "voucher")
ORDER_STATUSES = ("created", "awaiting_payment", "paid", "awaiting_pickup", "awaiting_shipment", "fulfilled",
                  "cancelled", "refunded")


class Item(db.Model):
    """A gift. With a `segment` (a tag code or `rfm:<code>`, see `app.segments`) only the members in
    it see the item and may order it."""

    __tablename__ = "mall_items"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    sku: Mapped[str] = mapped_column(String(48), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    images: Mapped[list[str]] = mapped_column(ARRAY(String(512)), default=list)
    points_price: Mapped[int] = mapped_column(Integer)
    cash_price_cents: Mapped[int] = mapped_column(Integer, default=0)
    voucher_value_cents: Mapped[int] = mapped_column(Integer, default=0)
    total_stock: Mapped[int] = mapped_column(Integer)
    remaining_stock: Mapped[int] = mapped_column(Integer)
    limit_per_member: Mapped[int | None] = mapped_column(Integer)
    limit_per_day: Mapped[int | None] = mapped_column(Integer)
    level_codes: Mapped[list[str] | None] = mapped_column(ARRAY(String(32)))
    segment: Mapped[str | None] = mapped_column(String(64))
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)

    __table_args__ = (
        CheckConstraint("kind IN ('coupon', 'pickup', 'delivery', 'voucher')", name="kind_known"),
        CheckConstraint("status IN ('draft', 'on_sale', 'off_sale')", name="status_known"),
        CheckConstraint("remaining_stock >= 0 AND remaining_stock <= total_stock", name="stock_within_total"),
        CheckConstraint("points_price >= 0 AND cash_price_cents >= 0 AND points_price + cash_price_cents > 0",
                        name="price_valid"),
        Index("ix_mall_items_listing", "status", "category", "sort"),
    )


class ItemStore(db.Model):
    """The stores that hold a pickup item."""

    __tablename__ = "mall_item_stores"

    item_id: Mapped[int] = mapped_column(ForeignKey("mall_items.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)


class CouponCode(db.Model):
    """A virtual item's pool: each code goes to one order only."""

    __tablename__ = "mall_coupon_codes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("mall_items.id"))
    code: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(BigInteger, index=True)

    __table_args__ = (
        db.UniqueConstraint("item_id", "code", name="uq_mall_coupon_codes_item_code"),
        Index("ix_mall_coupon_codes_free", "item_id", postgresql_where=text("order_id IS NULL")),
    )


class Order(db.Model):
    __tablename__ = "mall_orders"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("mall_items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    points_total: Mapped[int] = mapped_column(Integer)
    cash_total_cents: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    spend_entry_id: Mapped[int | None] = mapped_column(BigInteger)
    pickup_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    pickup_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    shipping_address: Mapped[dict | None] = mapped_column(JSONB)
    fulfilled_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    fulfilled_by: Mapped[int | None] = mapped_column(BigInteger)
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    pay_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)

    __table_args__ = (
        db.UniqueConstraint("member_id", "idempotency_key", name="uq_mall_orders_member_key"),
        CheckConstraint("quantity > 0 AND points_total >= 0 AND cash_total_cents >= 0", name="amounts_valid"),
        CheckConstraint("status IN ('created', 'awaiting_payment', 'paid', 'awaiting_pickup', 'awaiting_shipment', "
                        "'fulfilled', 'cancelled', 'refunded')", name="status_known"),
        Index("ix_mall_orders_member", "member_id", "id"),
        Index("ix_mall_orders_limits", "member_id", "item_id", "created_at"),
        Index("ix_mall_orders_unpaid", "pay_expires_at", postgresql_where=text("status = 'awaiting_payment'")),
    )


class OrderTransition(db.Model):
    """Every change of an order's status: from, to, who (member, staff, operator, system), why."""

    __tablename__ = "mall_order_transitions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("mall_orders.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class LotteryPrize(db.Model):
    __tablename__ = "lottery_prizes"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    points: Mapped[int] = mapped_column(Integer, default=0)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("mall_items.id"))
    weight: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint("kind IN ('points', 'item', 'nothing')", name="kind_known"),
        CheckConstraint("weight > 0 AND (stock IS NULL OR stock >= 0) AND points >= 0", name="values_valid"),
    )


class LotteryDraw(db.Model):
    __tablename__ = "lottery_draws"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    prize_id: Mapped[int] = mapped_column(ForeignKey("lottery_prizes.id"))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    cost_points: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        db.UniqueConstraint("member_id", "idempotency_key", name="uq_lottery_draws_member_key"),
        Index("ix_lottery_draws_member_time", "member_id", "created_at"),
    )


class LotterySettings(db.Model):
    """One row: what a draw costs and how many a member may make per business day."""

    __tablename__ = "lottery_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    cost_points: Mapped[int] = mapped_column(Integer, default=20)
    daily_limit: Mapped[int] = mapped_column(Integer, default=3)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (CheckConstraint("id = 1 AND cost_points >= 0 AND daily_limit >= 1", name="values_valid"),)
