"""The gift mall in the demo year: `mall.orders` and `mall.counter` over the generated members.

An order checks eligibility as `mall.items.eligibility` does (on sale, level, stock, limits per member
and per day, price after the level's discount), spends the points first, then takes the stock and
starts where its kind says: coupons and vouchers handed over at once (coupon codes from the pool),
pickups waiting for a clerk's two-step verification at a store that holds the item, deliveries
waiting for shipment, points + cash waiting for WeChat Pay (cancelled, points back, when unpaid in
time). A member may cancel a pickup before collecting it: points to the same lots, stock back.
"""
from __future__ import annotations

import itertools
import json
import random
from datetime import datetime, timedelta

from app import clock
from app.demo_year.books import Books
from app.demo_year.earning import Ladder
from app.points.posting import fingerprint
from mall.items import price_for
from mall.orders import CANCELLABLE, PICKUP_DAYS

ORDER_COLUMNS = ("id", "order_no", "member_id", "item_id", "quantity", "points_total", "cash_total_cents", "status",
                 "idempotency_key", "fingerprint", "spend_entry_id", "pickup_code", "pickup_expires_at",
                 "shipping_address", "fulfilled_store_id", "fulfilled_by", "prepay_id", "transaction_id",
                 "pay_expires_at", "created_at", "updated_at")


class Order:
    __slots__ = ORDER_COLUMNS + ("item", "spend")

    def row(self) -> tuple:
        return tuple(getattr(self, name) for name in ORDER_COLUMNS)


class Stock:
    """An item as the mall sells it in the year: its row, stock left, coupon codes left, stores."""

    __slots__ = ("item", "remaining", "codes", "stores", "weight")

    def __init__(self, item, codes: list[int], stores: list[int], weight: float) -> None:
        self.item, self.remaining, self.codes, self.stores, self.weight = item, item.remaining_stock, codes, stores, weight


class Shop:
    def __init__(self, rng: random.Random, books: Books, ladder: Ladder, stock: list[Stock], clerks: dict[int, int],
                 start_ids: dict[str, int], payment_timeout: timedelta) -> None:
        self.rng, self.books, self.ladder, self.stock, self.clerks = rng, books, ladder, stock, clerks
        self.payment_timeout = payment_timeout
        self._order_ids = itertools.count(start_ids["mall_orders"] + 1)
        self._transition_ids = itertools.count(start_ids["mall_order_transitions"] + 1)
        self._action_ids = itertools.count(start_ids["staff_actions"] + 1)
        self.orders: list[Order] = []
        self.transitions: list[tuple] = []
        self.staff_actions: list[tuple] = []
        self.coupon_codes: list[tuple[int, int]] = []
        self._pickup_codes: set[str] = set()

    def staff_action(self, staff_id: int, store_id: int, action: str, at: datetime, *, member_id=None, order_id=None,
                     key=None, print_=None, detail=None) -> None:
        self.staff_actions.append((next(self._action_ids), staff_id, store_id, action, member_id, order_id, key, print_,
                                   json.dumps(detail or {}, ensure_ascii=False), at))

    def _move(self, order: Order, to: str, actor: str, reason: str | None, at: datetime) -> None:
        self.transitions.append((next(self._transition_ids), order.id, order.status, to, actor, reason, at))
        order.status, order.updated_at = to, at

    def _eligible(self, person, stock: Stock, quantity: int, level_code: str | None, at: datetime) -> bool:
        item = stock.item
        day = clock.business_date(at)
        return not (item.status != "on_sale" or (item.starts_at is not None and at < item.starts_at)
                    or (item.ends_at is not None and at >= item.ends_at)
                    or (item.level_codes and level_code not in item.level_codes)
                    or stock.remaining < quantity or (item.kind == "coupon" and len(stock.codes) < quantity)
                    or (item.limit_per_member is not None
                        and person.live_items.get(item.id, 0) + quantity > item.limit_per_member)
                    or (item.limit_per_day is not None
                        and person.orders_by_day.get((item.id, day), 0) + quantity > item.limit_per_day))

    def redeem(self, person, at: datetime) -> Order | None:
        """A member picks something they can have and afford, and orders it (or nothing fits)."""
        level = self.ladder.effective(person.level_code)
        level_code = level.code if level else None
        balance = self.books.spendable_at(person.account, at)
        choices = []
        for stock in self.stock:
            quantity = 2 if stock.item.points_price < 500 and self.rng.random() < 0.15 else 1
            price = price_for(stock.item, level_code) * quantity
            if price <= balance and self._eligible(person, stock, quantity, level_code, at):
                choices.append((stock, quantity, price))
        if not choices:
            return None
        # members save up for things: among what they can have, the dearer the likelier
        stock, quantity, price = self.rng.choices(choices, weights=[c[0].weight * c[2] ** 0.5 for c in choices])[0]
        return self.place(person, stock, quantity, price, at)

    def place(self, person, stock: Stock, quantity: int, price: int, at: datetime) -> Order | None:
        rng, item = self.rng, stock.item
        key = "%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                               0x8000 | rng.getrandbits(14), rng.getrandbits(48))
        address = None
        if item.kind == "delivery":
            address = {"name": person.nickname or "会员", "phone": person.phone or "13800138000",
                       "region": person.region or "上海", "detail": f"幸福路 {rng.randrange(1, 999)} 号 {rng.randrange(1, 30)}-{rng.randrange(101, 2999)}"}
        order = Order()
        order.id, order.item, order.member_id, order.item_id, order.quantity = None, item, person.id, item.id, quantity
        order.order_no = at.strftime("M%Y%m%d") + f"{rng.randrange(10 ** 10):010d}"
        order.points_total, order.cash_total_cents = price, item.cash_price_cents * quantity
        order.idempotency_key = key
        order.fingerprint = fingerprint("order", person.id, item=item.id, quantity=quantity, address=address)
        order.shipping_address = json.dumps(address, ensure_ascii=False) if address else None
        order.spend = None
        if price:
            order.spend = self.books.spend(person.account, price, key=f"order:{person.id}:{key}",
                                           reason_code="mall_redeem", reason=f"兑换「{item.title}」x{quantity}",
                                           source_type="order", source_id=order.order_no, at=at)
            if order.spend is None:
                return None
        order.id = next(self._order_ids)
        order.spend_entry_id = order.spend.entry_id if order.spend else None
        order.pickup_code = order.pickup_expires_at = order.fulfilled_store_id = order.fulfilled_by = None
        order.prepay_id = order.transaction_id = order.pay_expires_at = None
        order.created_at = order.updated_at = at
        order.status = "created"
        stock.remaining -= quantity
        person.live_items[item.id] = person.live_items.get(item.id, 0) + quantity
        day = (item.id, clock.business_date(at))
        person.orders_by_day[day] = person.orders_by_day.get(day, 0) + quantity
        if order.cash_total_cents:
            order.pay_expires_at = at + self.payment_timeout
            order.prepay_id = "wx" + at.strftime("%d%H%M%S") + f"{rng.getrandbits(80):020x}"
            self._move(order, "awaiting_payment", "member", "积分已扣,等待微信支付", at)
        else:
            self._hand_over(order, stock, "member", at, first=True)
        self.orders.append(order)
        return order

    def _hand_over(self, order: Order, stock: Stock, actor: str, at: datetime, first: bool = False) -> None:
        item = stock.item
        if item.kind == "coupon":
            for _ in range(order.quantity):
                self.coupon_codes.append((stock.codes.pop(0), order.id))
            self._move(order, "fulfilled", actor, "券码已发放", at)
        elif item.kind == "voucher":
            self._move(order, "fulfilled", actor, "抵扣券已发放", at)
        elif item.kind == "pickup":
            order.pickup_code = self._pickup_code()
            order.pickup_expires_at = item.ends_at or at + timedelta(days=PICKUP_DAYS)
            self._move(order, "awaiting_pickup", actor, "请到店出示取货码", at)
        else:
            self._move(order, "awaiting_shipment", actor, "等待发货", at)

    def _pickup_code(self) -> str:
        while True:
            code = f"{self.rng.randrange(10 ** 13):013d}"
            if code not in self._pickup_codes:
                self._pickup_codes.add(code)
                return code

    def stock_of(self, order: Order) -> Stock:
        return next(s for s in self.stock if s.item.id == order.item_id)

    def pay(self, order: Order, at: datetime) -> None:
        """`confirm_payment`: WeChat Pay says paid; the order is handed over."""
        if order.status != "awaiting_payment":
            return
        order.transaction_id = "4200" + f"{self.rng.randrange(10 ** 24):024d}"
        self._move(order, "paid", "wechat_pay", "微信支付成功", at)
        self._hand_over(order, self.stock_of(order), "system", at)

    def cancel(self, person, order: Order, actor: str, reason: str, at: datetime) -> None:
        """`orders.cancel`: points back to the same lots, stock back (cash refunded if it was paid)."""
        if order.status not in CANCELLABLE:
            return
        paid = order.status != "awaiting_payment" and order.cash_total_cents > 0
        if order.spend is not None:
            self.books.give_back(person.account, order.spend, order.spend.amount, key=f"order:{order.id}:cancel",
                                 reason=f"订单取消退回:{reason}", reason_code="mall_refund", at=at)
        self.stock_of(order).remaining += order.quantity
        person.live_items[order.item_id] -= order.quantity
        person.orders_by_day[(order.item_id, clock.business_date(order.created_at))] -= order.quantity
        self._move(order, "refunded" if paid else "cancelled", actor, reason, at)

    def preview(self, order: Order, at: datetime) -> tuple[int, int] | None:
        """A clerk at a store holding the item looks the pickup code up: (store, staff), or None when
        the order is not waiting for pickup any more or its code has expired."""
        if order.status != "awaiting_pickup" or order.pickup_expires_at <= at:
            return None
        store_id = self.rng.choice(self.stock_of(order).stores)
        staff_id = self.clerks[store_id]
        self.staff_action(staff_id, store_id, "pickup_preview", at, member_id=order.member_id, order_id=order.id)
        return store_id, staff_id

    def confirm(self, order: Order, store_id: int, staff_id: int, at: datetime) -> None:
        """The clerk hands the item over."""
        if order.status != "awaiting_pickup" or order.pickup_expires_at <= at:
            return
        order.fulfilled_store_id, order.fulfilled_by = store_id, staff_id
        self._move(order, "fulfilled", f"staff:{staff_id}", f"门店 {store_id} 核销", at)
        self.staff_action(staff_id, store_id, "pickup_confirm", at, member_id=order.member_id, order_id=order.id)

    def sold(self) -> dict[int, int]:
        """Stock taken per item by the year's orders still live."""
        return {s.item.id: s.item.remaining_stock - s.remaining for s in self.stock}

