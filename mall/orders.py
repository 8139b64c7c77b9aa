"""Ordering: one transaction checks eligibility, spends the points through the ledger, takes the
stock and creates the order. Points + cash orders then wait for WeChat Pay; unpaid ones are
cancelled after a timeout, giving points (the same lots) and stock back.

Lock order in `place`: the member's points account (read with the item, used by the spend), the
(member, item) limit lock, the order's idempotency row, and last the item's stock row, so the hot
row of a flash sale is held for one statement and the commit only.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import make_transient_to_detached

from app import clock, locks
from app.errors import UpstreamUnavailable
from app.extensions import db
from app.levels import service as levels
from app.points import service as ledger
from app.points.posting import fingerprint
from app.segments import service as segments
from mall import items as catalog
from mall.errors import CONFLICT_REASONS, AddressRequired, BadOrderState, NotRedeemable, OutOfStock, UnknownOrder
from mall.models import CouponCode, Item, Order, OrderTransition
from mall.payments import pay_client, notify_url

PICKUP_DAYS = 30
CANCELLABLE = ("awaiting_payment", "paid", "awaiting_pickup", "awaiting_shipment")


def _order_no() -> str:
    return clock.now().strftime("M%Y%m%d") + f"{secrets.randbelow(10**10):010d}"


def _pickup_code() -> str:
    """13 random digits (43 bits), unique among orders."""
    while True:
        code = f"{secrets.randbelow(10**13):013d}"
        if db.session.scalar(select(Order.id).where(Order.pickup_code == code)) is None:
            return code


def move(order: Order, to: str, actor: str, reason: str | None = None) -> None:
    db.session.add(OrderTransition(order_id=order.id, from_status=order.status, to_status=to, actor=actor,
                                   reason=reason, created_at=clock.now()))
    order.status = to


# The order, its stock and its first transition in one statement, the hot stock row last: nothing is
# written unless the stock was taken (no row back for `stock_taken`) and the member's key is new.
_PLACE_SQL = text("""
WITH stock AS (
    UPDATE mall_items SET remaining_stock = remaining_stock - :quantity
    WHERE id = :item_id AND remaining_stock >= :quantity AND status = 'on_sale'
    RETURNING id
), placed AS (
    INSERT INTO mall_orders (order_no, member_id, item_id, quantity, points_total, cash_total_cents, status,
                             idempotency_key, fingerprint, spend_entry_id, pickup_code, pickup_expires_at,
                             shipping_address, pay_expires_at, created_at, updated_at)
    SELECT :order_no, :member_id, :item_id, :quantity, :points_total, :cash_total_cents, :status,
           :idempotency_key, :fingerprint, :spend_entry_id, :pickup_code, :pickup_expires_at,
           :shipping_address, :pay_expires_at, :created_at, :updated_at
    FROM stock
    ON CONFLICT ON CONSTRAINT uq_mall_orders_member_key DO NOTHING
    RETURNING id
), moved AS (
    INSERT INTO mall_order_transitions (order_id, from_status, to_status, actor, reason, created_at)
    SELECT id, 'created', :status, 'member', :reason, :created_at FROM placed
)
SELECT (SELECT id FROM stock) AS stock_taken, (SELECT id FROM placed) AS order_id
""").bindparams(bindparam("shipping_address", type_=JSONB))


# The item, the member's order under this key if any, the member's level, the member's points
# account locked for the spend to come, and whether the item's segment (if any) lets the member in:
# one statement, built once.
_ITEM_FOR_ORDER = select(
    Item,
    select(Order.id).where(Order.member_id == bindparam("member_id"), Order.idempotency_key == bindparam("key"))
    .scalar_subquery(),
    levels.level_code_of(bindparam("member_id")),
    ledger.account_lock(bindparam("member_id")),
    segments.admits(bindparam("member_id"), Item.segment),
).where(Item.id == bindparam("item_id"))


def place(member_id: int, item_id: int, quantity: int, key: str, address: dict | None = None) -> Order:
    """Redeem `quantity` of an item. The same key again returns the same order.

    The spend goes first, keyed by the member's Idempotency-Key, so a racing duplicate request waits
    on the member's account lock and then replays instead of spending twice; the order, the stock
    and the transition come last in one statement. Four statements in all for a points order."""
    print_ = fingerprint("order", member_id, item=item_id, quantity=quantity, address=address)
    row = db.session.execute(_ITEM_FOR_ORDER, {"item_id": item_id, "member_id": member_id, "key": key}).first()
    if row is None or row[0].status == "draft":
        db.session.rollback()
        raise NotRedeemable("商品不存在", code="unknown_item", status=404)
    item, existing, level_code, account_locked, admitted = row
    if existing is not None:
        db.session.rollback()
        return _replay(member_id, key, print_)
    if item.kind == "delivery" and not address:
        db.session.rollback()
        raise AddressRequired()
    if item.limit_per_member or item.limit_per_day:
        locks.hold(f"order-limit:{member_id}:{item_id}")
        context = catalog.member_context(member_id, [item_id], level_code=level_code)
    else:
        context = catalog.level_context(level_code)
    check = catalog.eligibility(item, member_id, quantity, context=context, admitted=admitted)
    if not check.ok:
        db.session.rollback()
        status = 409 if check.reason in CONFLICT_REASONS else 422
        raise NotRedeemable(check.message, code=check.reason, status=status)
    at = clock.now()
    values = {"order_no": _order_no(), "member_id": member_id, "item_id": item_id, "quantity": quantity,
              "points_total": check.points_price, "cash_total_cents": item.cash_price_cents * quantity,
              "idempotency_key": key, "fingerprint": print_, "spend_entry_id": None, "pickup_code": None,
              "pickup_expires_at": None, "shipping_address": address, "pay_expires_at": None,
              "created_at": at, "updated_at": at}
    if check.points_price:
        spent = ledger.spend(member_id, check.points_price, key=f"order:{member_id}:{key}", reason_code="mall_redeem",
                             reason=f"兑换「{item.title}」x{quantity}", source_type="order",
                             source_id=values["order_no"], commit=False, account_locked=account_locked or 0)
        if spent.replayed:
            db.session.rollback()
            return _replay(member_id, key, print_)
        values["spend_entry_id"] = spent.entries[0].id
    status, reason, extra = _first_status(item, quantity, values["cash_total_cents"], at)
    values.update(extra, status=status)
    placed = db.session.execute(_PLACE_SQL, {**values, "reason": reason}).one()
    if placed.stock_taken is None:
        db.session.rollback()
        raise OutOfStock()
    if placed.order_id is None:
        db.session.rollback()
        return _replay(member_id, key, print_)
    if item.kind == "coupon" and status == "fulfilled":
        _assign_codes(placed.order_id, item.id, quantity)
    db.session.commit()
    # the row just written, as the session would have loaded it (no query to read it back)
    order = Order(id=placed.order_id, fulfilled_store_id=None, fulfilled_by=None, prepay_id=None,
                  transaction_id=None, **values)
    make_transient_to_detached(order)
    db.session.add(order)
    if values["cash_total_cents"]:
        _create_payment(order, item)
    return order


def _first_status(item: Item, quantity: int, cash: int, at) -> tuple[str, str, dict]:
    """Where a new order starts: waiting for WeChat Pay, or handed over at once by kind of item."""
    if cash:
        timeout = timedelta(minutes=current_app.config["SETTINGS"].payment_timeout_minutes)
        return "awaiting_payment", "积分已扣,等待微信支付", {"pay_expires_at": at + timeout}
    return _handover_status(item, at)


def _handover_status(item: Item, at) -> tuple[str, str, dict]:
    if item.kind == "coupon":
        return "fulfilled", "券码已发放", {}
    if item.kind == "voucher":
        return "fulfilled", "抵扣券已发放", {}
    if item.kind == "pickup":
        return "awaiting_pickup", "请到店出示取货码", {
            "pickup_code": _pickup_code(), "pickup_expires_at": item.ends_at or at + timedelta(days=PICKUP_DAYS)}
    return "awaiting_shipment", "等待发货", {}


def _assign_codes(order_id: int, item_id: int, quantity: int) -> None:
    codes = db.session.execute(text(
        "UPDATE mall_coupon_codes SET order_id = :o WHERE id IN (SELECT id FROM mall_coupon_codes "
        "WHERE item_id = :i AND order_id IS NULL ORDER BY id LIMIT :q FOR UPDATE SKIP LOCKED) RETURNING code"),
        {"o": order_id, "i": item_id, "q": quantity}).scalars().all()
    if len(codes) < quantity:
        db.session.rollback()
        raise OutOfStock("券码已发完", code="coupon_pool_empty")


def _replay(member_id: int, key: str, print_: str) -> Order:
    order = db.session.scalar(select(Order).where(Order.member_id == member_id, Order.idempotency_key == key))
    db.session.rollback()
    if order is None or order.fingerprint != print_:
        raise NotRedeemable("该幂等键已用于另一笔不同的订单", code="idempotency_key_reused", status=422)
    return db.session.get(Order, order.id)


def _hand_over(order: Order, item: Item, actor: str) -> None:
    """Hand over an order once it is paid for (in points, and cash if any), by kind of item."""
    status, reason, extra = _handover_status(item, clock.now())
    for name, value in extra.items():
        setattr(order, name, value)
    db.session.flush()
    if item.kind == "coupon":
        _assign_codes(order.id, item.id, order.quantity)
    move(order, status, actor, reason)


def _create_payment(order: Order, item: Item) -> None:
    from app.members.models import Member
    from wechatpy.exceptions import WeChatPayException
    import requests

    member = db.session.get(Member, order.member_id)
    try:
        answer = pay_client().order.create(
            trade_type="JSAPI", body=item.title[:40], total_fee=order.cash_total_cents, notify_url=notify_url(),
            user_id=member.openid, out_trade_no=order.order_no, client_ip="127.0.0.1")
    except (WeChatPayException, requests.RequestException) as exc:
        cancel(order.id, actor="system", reason="微信支付下单失败")
        raise UpstreamUnavailable("微信支付暂时不可用,积分已退回", code="payment_unavailable") from exc
    order = db.session.get(Order, order.id)
    order.prepay_id = answer.get("prepay_id")
    db.session.commit()


def payment_params(order: Order) -> dict | None:
    """What the mini-program passes to wx.requestPayment."""
    if order.status != "awaiting_payment" or not order.prepay_id:
        return None
    return pay_client().jsapi.get_jsapi_params(order.prepay_id)


def for_member(member_id: int, order_no: str) -> Order:
    order = db.session.scalar(select(Order).where(Order.order_no == order_no))
    if order is None or order.member_id != member_id:
        raise UnknownOrder()
    return order


def cancel(order_id: int, *, actor: str, reason: str) -> Order:
    """Cancel before fulfilment: points back to the same lots, stock back, cash refunded if paid."""
    order = db.session.get(Order, order_id, with_for_update=True, populate_existing=True)
    if order.status not in CANCELLABLE:
        db.session.rollback()
        raise BadOrderState(f"订单状态为 {order.status},不能取消")
    paid = order.status != "awaiting_payment" and order.cash_total_cents > 0
    if order.spend_entry_id:
        ledger.reverse(order.spend_entry_id, key=f"order:{order.id}:cancel", reason=f"订单取消退回:{reason}",
                       reason_code="mall_refund", commit=False)
    db.session.execute(update(Item).where(Item.id == order.item_id)
                       .values(remaining_stock=Item.remaining_stock + order.quantity))
    move(order, "refunded" if paid else "cancelled", actor, reason)
    db.session.commit()
    if paid:
        pay_client().refund.apply(total_fee=order.cash_total_cents, refund_fee=order.cash_total_cents,
                                  out_refund_no=f"R{order.order_no}", out_trade_no=order.order_no)
    return order


def confirm_payment(order_no: str, transaction_id: str, total_fee: int) -> str:
    """A verified payment notification. Idempotent: a replay of a handled one changes nothing."""
    order = db.session.scalar(select(Order).where(Order.order_no == order_no).with_for_update())
    if order is None or order.cash_total_cents != total_fee:
        db.session.rollback()
        return "unknown_or_mismatched"
    if order.status != "awaiting_payment":
        late = order.status == "cancelled" and order.transaction_id is None
        if late:  # paid after we cancelled it: give the money back, nothing else changes
            order.transaction_id = transaction_id
            db.session.commit()
            pay_client().refund.apply(total_fee=total_fee, refund_fee=total_fee, out_refund_no=f"R{order.order_no}",
                                      out_trade_no=order.order_no)
            return "refunded_late_payment"
        db.session.rollback()
        return "already_handled"
    order.transaction_id = transaction_id
    move(order, "paid", "wechat_pay", "微信支付成功")
    _hand_over(order, db.session.get(Item, order.item_id), "system")
    db.session.commit()
    return "paid"


def expire_unpaid() -> int:
    """Cancel points + cash orders not paid in time (asking WeChat first: a payment may be in flight)."""
    from wechatpy.exceptions import WeChatPayException

    due = list(db.session.scalars(select(Order.id).where(Order.status == "awaiting_payment",
                                                         Order.pay_expires_at <= clock.now())))
    db.session.rollback()
    cancelled = 0
    for order_id in due:
        order = db.session.get(Order, order_id)
        try:
            pay_client().order.close(order.order_no)
        except WeChatPayException as exc:
            if exc.errcode == "ORDERPAID":
                state = pay_client().order.query(out_trade_no=order.order_no)
                confirm_payment(order.order_no, state["transaction_id"], int(state["total_fee"]))
                continue
        cancel(order_id, actor="system", reason="支付超时")
        cancelled += 1
    return cancelled


def coupon_codes(order_id: int) -> list[str]:
    return list(db.session.scalars(select(CouponCode.code).where(CouponCode.order_id == order_id).order_by(CouponCode.id)))


def grant_item(member_id: int, item_id: int, *, key: str, reason: str) -> Order:
    """A free order for an item won or given (lottery, birthday gift), inside the caller's transaction.
    It takes stock like any order and is handed over the same way."""
    item = db.session.get(Item, item_id)
    taken = db.session.execute(update(Item).where(Item.id == item_id, Item.remaining_stock >= 1)
                               .values(remaining_stock=Item.remaining_stock - 1).returning(Item.id)).scalar()
    if item is None or taken is None:
        raise OutOfStock("奖品库存不足", code="prize_out_of_stock")
    order = Order(order_no=_order_no(), member_id=member_id, item_id=item_id, quantity=1, points_total=0,
                  cash_total_cents=0, status="created", idempotency_key=key,
                  fingerprint=fingerprint("grant", member_id, item=item_id), created_at=clock.now(),
                  updated_at=clock.now())
    db.session.add(order)
    db.session.flush()
    _hand_over(order, item, f"system: {reason}")
    return order
