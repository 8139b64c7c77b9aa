"""Staff at the counter: sign in, verify pickup codes in two steps, award or deduct points."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from app.members.schemas import ErrorOut
from app.points.schemas import IdempotencyHeader
from app.staff import service as staff_service
from app.staff.service import current_staff
from mall import counter
from mall.schemas import AwardBody, DeductBody, PickupBody, StaffLoginBody

bp = APIBlueprint("staff", __name__, url_prefix="/api/v1/staff", abp_tags=[Tag(name="门店店员")],
                  abp_security=[{"staff": []}],
                  abp_responses={"401": ErrorOut, "403": ErrorOut, "404": ErrorOut, "409": ErrorOut, "422": ErrorOut})


class StorePath(BaseModel):
    store_id: int = Field(ge=1)


@bp.post("/auth/login", security=[])
def login(body: StaffLoginBody):
    """店员登录"""
    staff, issued = staff_service.login(body.username, body.password)
    return {"token": issued.token, "expires_at": issued.expires_at.isoformat(), "role": staff.role,
            "store_ids": sorted(staff_service.store_ids(staff))}


@bp.post("/verifications/preview")
def preview(body: PickupBody):
    """核销第一步:查看取货码对应的商品、会员(脱敏)与状态"""
    return counter.preview(current_staff(), body.code, body.store_id)


@bp.post("/verifications/confirm")
def confirm(body: PickupBody):
    """核销第二步:确认交付(重复或并发确认只有一次生效)"""
    return counter.confirm(current_staff(), body.code, body.store_id)


@bp.post("/points/award", responses={201: None})
def award(header: IdempotencyHeader, body: AwardBody):
    """扫会员码,按消费金额发放积分(走积分规则,退货期内待入账)"""
    return counter.award_purchase(current_staff(), key=header.idempotency_key, member_code=body.member_code,
                                  store_id=body.store_id, amount_cents=body.amount_cents,
                                  receipt_no=body.receipt_no), 201


@bp.post("/points/deduct", responses={201: None})
def deduct(header: IdempotencyHeader, body: DeductBody):
    """扫会员码,用积分抵扣部分账单(不超过抵扣比例)"""
    return counter.deduct(current_staff(), key=header.idempotency_key, member_code=body.member_code,
                          store_id=body.store_id, points=body.points, bill_cents=body.bill_cents), 201


@bp.get("/stores/<int:store_id>/today")
def today(path: StorePath):
    """本店今日:核销数、发放积分"""
    return counter.today_at_store(current_staff(), path.store_id)
