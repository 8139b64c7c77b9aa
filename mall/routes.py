"""Member endpoints of the mall: browse, order, my orders, member code, lottery, payment notices."""
from __future__ import annotations

import io

import qrcode
from flask import Response, current_app, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field
from sqlalchemy import select
from wechatpy.exceptions import InvalidSignatureException

from app.auth.tokens import current_member
from app.extensions import db
from app.members.schemas import ErrorOut
from app.pagination import CursorQuery, cursor_page, decode_cursor
from app.points.schemas import IdempotencyHeader
from mall import counter, items as catalog, lottery, orders
from mall.models import Item, Order
from mall.payments import FAIL_REPLY, SUCCESS_REPLY, pay_client
from mall.schemas import ItemOut, ItemPage, ItemQuery, OrderBody, OrderOut, OrderPage

bp = APIBlueprint("mall", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="积分商城")],
                  abp_security=[{"member": []}],
                  abp_responses={"401": ErrorOut, "404": ErrorOut, "409": ErrorOut, "422": ErrorOut})


class ItemPath(BaseModel):
    item_id: int = Field(ge=1)


class OrderPath(BaseModel):
    order_no: str = Field(min_length=1, max_length=32, pattern=r"^[A-Z0-9]+$")


def item_out(item: Item, check: catalog.Eligibility) -> dict:
    return ItemOut(id=item.id, sku=item.sku, kind=item.kind, category=item.category, title=item.title,
                   description=item.description, images=list(item.images or []), points_price=check.points_price,
                   list_points_price=item.points_price, cash_price_cents=item.cash_price_cents,
                   remaining_stock=item.remaining_stock, limit_per_member=item.limit_per_member,
                   limit_per_day=item.limit_per_day, starts_at=item.starts_at, ends_at=item.ends_at,
                   can_redeem=check.ok, reason=check.reason, reason_text=check.message).model_dump(mode="json")


def order_out(order: Order) -> dict:
    item = db.session.get(Item, order.item_id)
    return OrderOut(order_no=order.order_no, item_id=order.item_id, item_title=item.title, quantity=order.quantity,
                    points_total=order.points_total, cash_total_cents=order.cash_total_cents, status=order.status,
                    pickup_code=order.pickup_code if order.status == "awaiting_pickup" else None,
                    pickup_expires_at=order.pickup_expires_at, coupon_codes=orders.coupon_codes(order.id) if item.kind == "coupon" else [],
                    pay_expires_at=order.pay_expires_at, payment=orders.payment_params(order),
                    created_at=order.created_at).model_dump(mode="json")


@bp.get("/mall/items", responses={200: ItemPage})
def list_items(query: ItemQuery):
    """商品列表:每件商品我现在能否兑换,不能时说明原因"""
    member = current_member()
    rows, total = catalog.browse(member.id, category=query.category, affordable=query.affordable,
                                 for_my_level=query.for_my_level, page=query.page, per_page=query.per_page)
    return {"items": [item_out(item, check) for item, check in rows], "total": total, "page": query.page}


@bp.get("/mall/items/<int:item_id>", responses={200: ItemOut})
def get_item(path: ItemPath):
    """商品详情"""
    member = current_member()
    item = catalog.get(path.item_id)
    return item_out(item, catalog.eligibility(item, member.id))


@bp.post("/mall/orders", responses={201: OrderOut})
def place_order(header: IdempotencyHeader, body: OrderBody):
    """兑换下单(需 Idempotency-Key):校验资格与库存、扣积分、建单在同一事务中完成"""
    member = current_member()
    address = body.address.model_dump() if body.address else None
    order = orders.place(member.id, body.item_id, body.quantity, header.idempotency_key, address)
    return order_out(order), 201


@bp.get("/me/orders", responses={200: OrderPage})
def my_orders(query: CursorQuery):
    """我的订单"""
    member = current_member()
    stmt = select(Order).where(Order.member_id == member.id)
    below = decode_cursor(query.cursor)
    if below is not None:
        stmt = stmt.where(Order.id < below)
    rows, next_cursor = cursor_page(list(db.session.scalars(stmt.order_by(Order.id.desc()).limit(query.limit + 1))),
                                    query.limit)
    return {"items": [order_out(o) for o in rows], "next_cursor": next_cursor}


@bp.get("/me/orders/<order_no>", responses={200: OrderOut})
def my_order(path: OrderPath):
    """订单详情(含取货码、券码)"""
    return order_out(orders.for_member(current_member().id, path.order_no))


@bp.get("/me/orders/<order_no>/pickup-qrcode")
def pickup_qrcode(path: OrderPath):
    """取货码二维码(PNG),店员扫码核销"""
    order = orders.for_member(current_member().id, path.order_no)
    if order.status != "awaiting_pickup" or not order.pickup_code:
        return {"error": {"code": "no_pickup_code", "message": "该订单没有可用的取货码"}}, 409
    buffer = io.BytesIO()
    qrcode.make(order.pickup_code, box_size=8, border=2).save(buffer, format="PNG")
    return Response(buffer.getvalue(), mimetype="image/png")


@bp.post("/me/orders/<order_no>/cancel", responses={200: OrderOut})
def cancel_order(path: OrderPath):
    """取消订单(未核销、未发货前):积分按原批次退回,库存退回,已付现金原路退款"""
    order = orders.for_member(current_member().id, path.order_no)
    return order_out(orders.cancel(order.id, actor="member", reason="会员取消"))


@bp.get("/me/member-code")
def member_code():
    """会员码(每分钟刷新,一次有效),门店扫码积分或抵扣"""
    return counter.issue_member_code(current_member().id)


@bp.get("/lottery")
def lottery_odds():
    """抽奖:每次消耗积分、每日次数与各奖品概率(公示)"""
    current_member()
    return lottery.odds()


@bp.post("/lottery/draws", responses={201: None})
def lottery_draw(header: IdempotencyHeader):
    """抽一次奖(结果由服务器以安全随机数决定)"""
    return lottery.draw(current_member().id, header.idempotency_key), 201


@bp.post("/payments/wechat/notify", security=[])
def payment_notify():
    """微信支付结果通知(验签;重复通知幂等)"""
    try:
        data = pay_client().parse_payment_result(request.get_data())
    except (InvalidSignatureException, KeyError, ValueError):
        current_app.logger.warning("payment notification refused: bad signature or body")
        return Response(FAIL_REPLY.format("签名错误"), status=400, mimetype="application/xml")
    if data.get("result_code") != "SUCCESS" or data.get("mch_id") != pay_client().mch_id:
        return Response(FAIL_REPLY.format("参数错误"), status=400, mimetype="application/xml")
    orders.confirm_payment(data["out_trade_no"], data["transaction_id"], int(data["total_fee"]))
    return Response(SUCCESS_REPLY, mimetype="application/xml")
