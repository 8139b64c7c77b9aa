"""The member's value account: balances and ledger."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag

from app.auth.tokens import current_member
from app.members.schemas import ErrorOut
from app.points import queries
from app.points.schemas import AccountOut, EntryOut, LedgerPage, LedgerQuery

bp = APIBlueprint("points", __name__, url_prefix="/api/v1/me", abp_tags=[Tag(name="积分账户")],
                  abp_security=[{"member": []}], abp_responses={"401": ErrorOut, "422": ErrorOut})


@bp.get("/account", responses={200: AccountOut})
def get_account():
    """我的积分与成长值:可用、待入账、即将到期、折合金额"""
    return AccountOut.model_validate(queries.account(current_member().id)).model_dump(mode="json")


@bp.get("/ledger", responses={200: LedgerPage})
def get_ledger(query: LedgerQuery):
    """积分明细(新的在前,游标分页,可按币种与类型筛选)"""
    items, next_cursor = queries.ledger(current_member().id, cursor=query.cursor, limit=query.limit,
                                        currency=query.currency, kind=query.kind)
    return LedgerPage(items=[EntryOut.model_validate(e, from_attributes=True) for e in items],
                      next_cursor=next_cursor).model_dump(mode="json")
