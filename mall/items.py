"""Items: what operators put in the mall, and what a member may redeem now (and if not, why).

An item limited to a segment is left out of the listing for members outside it (the test is part of
the listing's query) and refused to them with `not_in_segment`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.errors import Conflict, NotFound, Unprocessable
from app.extensions import db
from app.levels import service as levels
from app.points.models import PointAccount
from app.segments import service as segments
from app.staff.models import Store
from mall.models import CouponCode, Item, ItemStore, Order

LIVE_ORDER = ("created", "awaiting_payment", "paid", "awaiting_pickup", "awaiting_shipment", "fulfilled")
REASONS = {
    "not_on_sale": "商品未上架", "not_started": "兑换尚未开始", "ended": "兑换已结束",
    "level_not_eligible": "当前等级不可兑换", "out_of_stock": "库存不足", "over_member_limit": "已达每人限兑数量",
    "over_daily_limit": "已达今日限兑数量", "insufficient_points": "积分不足",
    "not_in_segment": "该商品仅限特定会员兑换",
}


@dataclass
class Eligibility:
    ok: bool
    reason: str | None
    points_price: int

    @property
    def message(self) -> str | None:
        return REASONS.get(self.reason) if self.reason else None


def save(fields: dict[str, Any], item_id: int | None = None) -> Item:
    if fields.get("segment") is not None:
        segments.check_segment(fields["segment"])
    store_ids = fields.pop("store_ids", None)
    codes = fields.pop("coupon_codes", None)
    if item_id is None:
        fields["remaining_stock"] = fields["total_stock"]
        item = Item(**fields)
        db.session.add(item)
    else:
        item = db.session.get(Item, item_id, with_for_update=True)
        if item is None:
            raise NotFound("商品不存在", code="unknown_item")
        sold = item.total_stock - item.remaining_stock
        if fields["total_stock"] < sold:
            raise Unprocessable(f"总库存不能少于已兑出的 {sold}", code="stock_below_sold")
        fields["remaining_stock"] = fields["total_stock"] - sold
        for name, value in fields.items():
            setattr(item, name, value)
    try:
        db.session.flush()
        if store_ids is not None:
            if len(set(db.session.scalars(select(Store.id).where(Store.id.in_(store_ids))))) != len(set(store_ids)):
                raise NotFound("门店不存在", code="unknown_store")
            db.session.execute(delete(ItemStore).where(ItemStore.item_id == item.id))
            db.session.add_all(ItemStore(item_id=item.id, store_id=s) for s in set(store_ids))
        if codes:
            db.session.add_all(CouponCode(item_id=item.id, code=c) for c in codes)
        db.session.flush()
        if item.kind == "coupon":
            free = db.session.scalar(select(func.count()).where(CouponCode.item_id == item.id, CouponCode.order_id.is_(None)))
            if free < item.remaining_stock:
                raise Unprocessable(f"券码池只有 {free} 个,少于库存 {item.remaining_stock}", code="coupon_pool_short")
        if item.kind == "pickup" and not db.session.scalar(select(func.count()).where(ItemStore.item_id == item.id)):
            raise Unprocessable("到店自提商品须指定自提门店", code="pickup_needs_stores")
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("商品编码或券码重复", code="item_conflict")
    except (Unprocessable, NotFound):
        db.session.rollback()
        raise
    return item


def get(item_id: int, *, for_members: bool = True) -> Item:
    item = db.session.get(Item, item_id)
    if item is None or (for_members and item.status == "draft"):
        raise NotFound("商品不存在", code="unknown_item")
    return item


def price_for(item: Item, level_code: str | None) -> int:
    """Points price after the member's level discount (rounded up: a discount never gives points away)."""
    level = levels.by_code(level_code) if level_code else None
    pct = level.discount_pct if level else 100
    return -(-item.points_price * pct // 100)


def eligibility(item: Item, member_id: int, quantity: int = 1, *, context: dict | None = None,
                admitted: bool | None = None) -> Eligibility:
    """Whether `member_id` may redeem `quantity` of `item` now, and if not, the first reason why.
    `admitted`: whether the item's segment lets the member in, when the caller's query said so
    already; otherwise it is looked up (only for an item that has a segment)."""
    ctx = context or member_context(member_id, [item.id])
    price = price_for(item, ctx["level"]) * quantity
    at = clock.now()
    if admitted is None:
        admitted = item.segment is None or segments.is_member(member_id, item.segment)
    checks = [
        (item.status != "on_sale", "not_on_sale"),
        (not admitted, "not_in_segment"),
        (item.starts_at is not None and at < item.starts_at, "not_started"),
        (item.ends_at is not None and at >= item.ends_at, "ended"),
        (bool(item.level_codes) and ctx["level"] not in item.level_codes, "level_not_eligible"),
        (item.remaining_stock < quantity, "out_of_stock"),
        (item.limit_per_member is not None and ctx["total"].get(item.id, 0) + quantity > item.limit_per_member,
         "over_member_limit"),
        (item.limit_per_day is not None and ctx["today"].get(item.id, 0) + quantity > item.limit_per_day,
         "over_daily_limit"),
        (ctx["available"] is not None and ctx["available"] < price, "insufficient_points"),
    ]
    reason = next((code for failed, code in checks if failed), None)
    return Eligibility(reason is None, reason, price)


_UNREAD: Any = object()


def member_context(member_id: int, item_ids: list[int], *, level_code: str | None = _UNREAD) -> dict:
    """What eligibility needs about a member, read in three queries for a whole page of items (two
    when the caller read the member's level already)."""
    day_start = clock.local_midnight(clock.today())
    rows = db.session.execute(
        select(Order.item_id, func.sum(Order.quantity),
               func.sum(Order.quantity).filter(Order.created_at >= day_start))
        .where(Order.member_id == member_id, Order.item_id.in_(item_ids), Order.status.in_(LIVE_ORDER))
        .group_by(Order.item_id)).all()
    available = db.session.scalar(select(PointAccount.available).where(PointAccount.member_id == member_id)) or 0
    level = (levels.level_of(member_id)[0] if level_code is _UNREAD
                                                                  else levels.effective_code(level_code))
    return {"level": level, "available": available,
            "total": {r[0]: int(r[1] or 0) for r in rows}, "today": {r[0]: int(r[2] or 0) for r in rows}}


def level_context(level_code: str | None) -> dict:
    """Eligibility without limits or balance (the ledger refuses a short balance itself), for a
    member whose `member_levels` code the caller read."""
    return {"level": levels.effective_code(level_code), "available": None, "total": {}, "today": {}}


def browse(member_id: int, *, category: str | None, affordable: bool, for_my_level: bool,
           page: int, per_page: int) -> tuple[list[tuple[Item, Eligibility]], int]:
    query = select(Item).where(Item.status == "on_sale", segments.admits(member_id, Item.segment))
    if category:
        query = query.where(Item.category == category)
    items = list(db.session.scalars(query.order_by(Item.sort, Item.id)))
    ctx = member_context(member_id, [i.id for i in items])
    rows = [(item, eligibility(item, member_id, context=ctx, admitted=True)) for item in items]
    if affordable:
        rows = [r for r in rows if r[1].points_price <= ctx["available"]]
    if for_my_level:
        rows = [r for r in rows if not r[0].level_codes or ctx["level"] in r[0].level_codes]
    start = (page - 1) * per_page
    return rows[start:start + per_page], len(rows)


def pickup_store_ids(item_id: int) -> set[int]:
    return set(db.session.scalars(select(ItemStore.store_id).where(ItemStore.item_id == item_id)))
