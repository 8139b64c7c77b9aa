"""Operators: stores, staff, mall items and stock, order refunds, lottery prizes."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from app.errors import NotFound
from app.extensions import db
from app.members.schemas import ErrorOut
from app.operators.service import READERS, WRITERS, current_operator
from app.staff import service as staff_service
from mall import items as catalog, lottery, orders
from mall.models import Item, Order
from mall.routes import order_out
from mall.schemas import AdminItemOut, ItemBody, LotterySettingsBody, PrizeBody, StaffBody, StoreBody

bp = APIBlueprint("mall_admin", __name__, url_prefix="/api/v1/admin", abp_tags=[Tag(name="运营后台")],
                  abp_security=[{"operator": []}],
                  abp_responses={"401": ErrorOut, "403": ErrorOut, "404": ErrorOut, "409": ErrorOut, "422": ErrorOut})


class ItemPath(BaseModel):
    item_id: int = Field(ge=1)


class PrizePath(BaseModel):
    prize_id: int = Field(ge=1)


class PrizeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    kind: str
    points: int
    item_id: int | None
    weight: int
    stock: int | None
    sort: int
    active: bool


class OrderPath(BaseModel):
    order_no: str = Field(min_length=1, max_length=32)


class RefundBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=2, max_length=200)


@bp.post("/stores", responses={201: None})
def create_store(body: StoreBody):
    """新建门店"""
    current_operator(*WRITERS)
    store = staff_service.create_store(body.code, body.name, body.city, body.address)
    return {"id": store.id, "code": store.code, "name": store.name}, 201


@bp.post("/staff", responses={201: None})
def create_staff(body: StaffBody):
    """新建店员账号并指定所属门店"""
    current_operator(*WRITERS)
    staff = staff_service.create_staff(body.username, body.password, body.role, body.store_ids, body.display_name,
                                       body.wecom_userid)
    return {"id": staff.id, "username": staff.username, "role": staff.role}, 201


@bp.get("/mall/items")
def list_items():
    """全部商品(含草稿与下架)"""
    current_operator(*READERS)
    rows = db.session.scalars(select(Item).order_by(Item.sort, Item.id))
    return {"items": [AdminItemOut.model_validate(i).model_dump() for i in rows]}


@bp.post("/mall/items", responses={201: AdminItemOut})
def create_item(body: ItemBody):
    """新建商品(券码池、自提门店、限兑、等级、上下架时间)"""
    current_operator(*WRITERS)
    return AdminItemOut.model_validate(catalog.save(body.model_dump())).model_dump(), 201


@bp.put("/mall/items/<int:item_id>", responses={200: AdminItemOut})
def replace_item(path: ItemPath, body: ItemBody):
    """修改商品(整体替换;总库存不能少于已兑出数量)"""
    current_operator(*WRITERS)
    return AdminItemOut.model_validate(catalog.save(body.model_dump(), item_id=path.item_id)).model_dump()


@bp.post("/mall/orders/<order_no>/refund")
def refund_order(path: OrderPath, body: RefundBody):
    """退单:积分按原批次退回,库存退回,已付现金原路退款"""
    operator = current_operator(*WRITERS)
    order = db.session.scalar(select(Order).where(Order.order_no == path.order_no))
    if order is None:
        raise NotFound("订单不存在", code="unknown_order")
    return order_out(orders.cancel(order.id, actor=f"operator:{operator.id}", reason=body.reason))


@bp.get("/lottery/prizes")
def list_prizes():
    """全部抽奖奖品(含停用)"""
    current_operator(*READERS)
    return {"items": [PrizeOut.model_validate(p).model_dump() for p in lottery.list_prizes()]}


@bp.post("/lottery/prizes", responses={201: PrizeOut})
def create_prize(body: PrizeBody):
    """新建抽奖奖品(权重、库存)"""
    current_operator(*WRITERS)
    return PrizeOut.model_validate(lottery.save_prize(body.model_dump())).model_dump(), 201


@bp.put("/lottery/prizes/<int:prize_id>", responses={200: PrizeOut})
def replace_prize(path: PrizePath, body: PrizeBody):
    """修改抽奖奖品(整体替换;已抽中的记录不变)"""
    current_operator(*WRITERS)
    return PrizeOut.model_validate(lottery.save_prize(body.model_dump(), prize_id=path.prize_id)).model_dump()


@bp.put("/lottery/settings")
def lottery_settings(body: LotterySettingsBody):
    """抽奖设置:每次消耗积分、每日次数、开关"""
    current_operator(*WRITERS)
    lottery.update_settings(body.model_dump())
    return lottery.odds()
