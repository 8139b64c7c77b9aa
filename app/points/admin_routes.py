"""Operators' view of the ledger: any member's account and entries, adjustments, penalties,
reversals, the programme's liability, and the programme's points settings."""
from __future__ import annotations

from datetime import timedelta

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from app import clock
from app.errors import NotFound, Unprocessable
from app.extensions import db
from app.members.models import Member
from app.members.schemas import ErrorOut
from app.operators.service import READERS, WRITERS, current_operator
from app.points import liability as books, queries, service
from app.points.posting import Outcome
from app.points.schemas import (AccountOut, AdjustmentBody, IdempotencyHeader, LedgerQuery, OperationOut,
                                OperatorEntryOut, OperatorLedgerPage, PeriodQuery, ProgrammeOut, ProgrammeUpdate,
                                ReversalBody)
from app.programme import service as programme

bp = APIBlueprint("points_admin", __name__, url_prefix="/api/v1/admin", abp_tags=[Tag(name="运营后台")],
                  abp_security=[{"operator": []}],
                  abp_responses={"401": ErrorOut, "403": ErrorOut, "404": ErrorOut, "422": ErrorOut})


class MemberPath(BaseModel):
    member_id: int = Field(ge=1)


class EntryPath(BaseModel):
    entry_id: int = Field(ge=1)


def _member(member_id: int) -> Member:
    member = db.session.get(Member, member_id)
    if member is None:
        raise NotFound("会员不存在", code="unknown_member")
    return member


def _operation(outcome: Outcome) -> dict:
    return OperationOut(operation_id=outcome.operation_id, replayed=outcome.replayed,
                        entries=[e.as_dict() for e in outcome.entries],
                        requested=outcome.extra.get("requested"), taken=outcome.extra.get("taken"),
                        shortfall=outcome.extra.get("shortfall")).model_dump(mode="json")


@bp.get("/members/<int:member_id>/account", responses={200: AccountOut})
def member_account(path: MemberPath):
    """某会员的积分账户"""
    current_operator(*READERS)
    return AccountOut.model_validate(queries.account(_member(path.member_id).id)).model_dump(mode="json")


@bp.get("/members/<int:member_id>/ledger", responses={200: OperatorLedgerPage})
def member_ledger(path: MemberPath, query: LedgerQuery):
    """某会员的积分流水(含来源与操作人)"""
    current_operator(*READERS)
    items, next_cursor = queries.ledger(_member(path.member_id).id, cursor=query.cursor, limit=query.limit,
                                        currency=query.currency, kind=query.kind)
    return OperatorLedgerPage(items=[OperatorEntryOut.model_validate(e, from_attributes=True) for e in items],
                              next_cursor=next_cursor).model_dump(mode="json")


@bp.post("/members/<int:member_id>/adjustments", responses={201: OperationOut, 409: ErrorOut})
def adjust(path: MemberPath, header: IdempotencyHeader, body: AdjustmentBody):
    """手工调整或违规处罚(原因必填,记录操作人)"""
    operator = current_operator(*WRITERS)
    outcome = service.adjust(_member(path.member_id).id, body.amount, key=f"admin:{header.idempotency_key}",
                             reason=body.reason, operator_id=operator.id, currency=body.currency, penalty=body.penalty)
    return _operation(outcome), 200 if outcome.replayed else 201


@bp.post("/ledger/<int:entry_id>/reversal", responses={201: OperationOut, 409: ErrorOut})
def reverse(path: EntryPath, header: IdempotencyHeader, body: ReversalBody):
    """冲正一条流水(全部或部分)"""
    operator = current_operator(*WRITERS)
    outcome = service.reverse(path.entry_id, key=f"admin:{header.idempotency_key}", reason=body.reason,
                              amount=body.amount, operator_id=operator.id, reason_code="operator_reversal")
    return _operation(outcome), 200 if outcome.replayed else 201


@bp.get("/liability")
def liability(query: PeriodQuery):
    """积分负债:未兑付积分及折合金额,期间发放/消耗/过期,兑换率与沉淀率"""
    current_operator(*READERS)
    end = query.end or clock.now()
    start = query.start or end - timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise Unprocessable("时间须带时区,如 2026-01-01T00:00:00+08:00", code="naive_datetime")
    if start >= end:
        raise Unprocessable("开始时间须早于结束时间", code="invalid_period")
    return books.liability(start, end)


@bp.get("/programme", responses={200: ProgrammeOut})
def get_programme():
    """积分设置:名称、价值、有效期规则"""
    current_operator(*READERS)
    return ProgrammeOut.model_validate(programme.current(), from_attributes=True).model_dump(mode="json")


@bp.patch("/programme", responses={200: ProgrammeOut})
def update_programme(body: ProgrammeUpdate):
    """修改积分设置(新的有效期规则只影响此后获得的积分)"""
    current_operator("admin")
    view = programme.update(body.model_dump(exclude_unset=True, exclude_none=True))
    return ProgrammeOut.model_validate(view, from_attributes=True).model_dump(mode="json")
