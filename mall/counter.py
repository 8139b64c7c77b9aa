"""The counter: pickup verification in two steps, and in-store points by the member's rotating code.

Member codes work like a payment code: 18 random digits, valid for a minute, one use, and a new one
replaces the last (Redis holds code -> member with a TTL; GETDEL makes a second use impossible).
Every counter action is audited in `staff_actions`; awards and deductions are idempotent per staff
member and Idempotency-Key, so a retried request returns its first result.
"""
from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.earning import engine
from app.errors import Forbidden, NotFound, Unprocessable
from app.extensions import db, get_redis
from app.members.models import Member
from app.points import service as ledger
from app.points.posting import fingerprint
from app.programme import service as programme
from app.staff.models import Staff, StaffAction
from app.staff.service import require_store
from mall import items as catalog
from mall.errors import BadOrderState
from mall.models import Item, Order
from mall.orders import move

MEMBER_CODE_TTL = 60
MAX_DEDUCTION_PCT = 50  # points may pay at most half of a bill


def issue_member_code(member_id: int) -> dict:
    redis = get_redis()
    code = "66" + f"{secrets.randbelow(10**16):016d}"
    previous = redis.getset(f"member-code:current:{member_id}", code)
    pipe = redis.pipeline()
    if previous:
        pipe.delete(f"member-code:{previous.decode()}")
    pipe.set(f"member-code:{code}", member_id, ex=MEMBER_CODE_TTL)
    pipe.expire(f"member-code:current:{member_id}", MEMBER_CODE_TTL)
    pipe.execute()
    return {"code": code, "expires_in": MEMBER_CODE_TTL}


def _redeem_member_code(code: str) -> int:
    member_id = get_redis().getdel(f"member-code:{code}")
    if member_id is None:
        raise Unprocessable("会员码无效或已过期,请让会员刷新", code="member_code_invalid")
    return int(member_id)


def masked_name(member: Member) -> str:
    name = member.nickname or "会员"
    return name[0] + "*" * max(1, len(name) - 1) if len(name) > 1 else name + "*"


def _audit(staff: Staff, store_id: int | None, action: str, **fields: Any) -> StaffAction:
    row = StaffAction(staff_id=staff.id, store_id=store_id, action=action, created_at=clock.now(), **fields)
    db.session.add(row)
    db.session.flush()
    return row


def preview(staff: Staff, code: str, store_id: int) -> dict:
    """Step one: what the code is for, so the clerk can check it before handing anything over."""
    require_store(staff, store_id)
    order = db.session.scalar(select(Order).where(Order.pickup_code == code))
    if order is None:
        raise NotFound("取货码无效", code="unknown_pickup_code")
    item = db.session.get(Item, order.item_id)
    held_here = store_id in catalog.pickup_store_ids(item.id)
    _audit(staff, store_id, "pickup_preview", order_id=order.id, member_id=order.member_id)
    db.session.commit()
    return {"order_no": order.order_no, "item": item.title, "quantity": order.quantity,
            "member": masked_name(db.session.get(Member, order.member_id)), "status": order.status,
            "expires_at": order.pickup_expires_at, "can_confirm": _usable(order) is None and held_here,
            "problem": _usable(order) or (None if held_here else "item_not_at_this_store")}


def _usable(order: Order) -> str | None:
    if order.status == "fulfilled":
        return "already_fulfilled"
    if order.status != "awaiting_pickup":
        return "order_not_awaiting_pickup"
    if order.pickup_expires_at and order.pickup_expires_at <= clock.now():
        return "pickup_code_expired"
    return None


def confirm(staff: Staff, code: str, store_id: int) -> dict:
    """Step two: hand over. Of two clerks confirming one code, exactly one fulfils it."""
    require_store(staff, store_id)
    order = db.session.scalar(select(Order).where(Order.pickup_code == code).with_for_update())
    if order is None:
        raise NotFound("取货码无效", code="unknown_pickup_code")
    if store_id not in catalog.pickup_store_ids(order.item_id):
        db.session.rollback()
        raise Forbidden("该商品不在本门店自提", code="item_not_at_this_store")
    problem = _usable(order)
    if problem:
        db.session.rollback()
        raise BadOrderState({"already_fulfilled": "该取货码已核销", "pickup_code_expired": "取货码已过期"}
                            .get(problem, "订单当前不可核销"), code=problem)
    order.fulfilled_store_id, order.fulfilled_by = store_id, staff.id
    move(order, "fulfilled", f"staff:{staff.id}", f"门店 {store_id} 核销")
    _audit(staff, store_id, "pickup_confirm", order_id=order.id, member_id=order.member_id)
    db.session.commit()
    return {"order_no": order.order_no, "status": order.status}


def _claim_action(staff: Staff, key: str, print_: str) -> StaffAction | None:
    existing = db.session.scalar(select(StaffAction).where(StaffAction.staff_id == staff.id,
                                                           StaffAction.idempotency_key == key))
    if existing is not None and existing.fingerprint != print_:
        raise Unprocessable("该幂等键已用于另一笔不同的操作", code="idempotency_key_reused")
    return existing


def award_purchase(staff: Staff, *, key: str, member_code: str, store_id: int, amount_cents: int,
                   receipt_no: str) -> dict:
    """Purchase points for an in-store sale, through the earning rules (pending for the return window)."""
    require_store(staff, store_id)
    print_ = fingerprint("store-award", staff.id, store=store_id, amount=amount_cents, receipt=receipt_no)
    existing = _claim_action(staff, key, print_)
    if existing is not None:
        return existing.detail
    member_id = _redeem_member_code(member_code)
    result = engine.process(engine.Event("purchase", member_id, f"store:{store_id}:{receipt_no}",
                                         source=f"store:{store_id}",
                                         attributes={"amount_cents": amount_cents, "order_id": receipt_no}),
                            commit=False)
    detail = {"member": masked_name(db.session.get(Member, member_id)), "points": result.points,
              "growth": result.growth, "status": result.status, "duplicate": result.duplicate}
    return _record_once(staff, store_id, "points_award", member_id, key, print_, detail)


def deduct(staff: Staff, *, key: str, member_code: str, store_id: int, points: int, bill_cents: int) -> dict:
    """Points as part of payment at the till, within the deduction ratio."""
    require_store(staff, store_id)
    view = programme.current()
    if view.money_cents(points) > bill_cents * MAX_DEDUCTION_PCT // 100:
        raise Unprocessable(f"积分抵扣不能超过账单的 {MAX_DEDUCTION_PCT}%", code="over_deduction_ratio")
    print_ = fingerprint("store-deduct", staff.id, store=store_id, points=points, bill=bill_cents)
    existing = _claim_action(staff, key, print_)
    if existing is not None:
        return existing.detail
    member_id = _redeem_member_code(member_code)
    outcome = ledger.spend(member_id, points, key=f"staff:{staff.id}:{key}", reason_code="store_deduction",
                           reason=f"门店消费抵扣 {view.money_cents(points) / 100:.2f} 元", source_type="store",
                           source_id=str(store_id), commit=False)
    detail = {"member": masked_name(db.session.get(Member, member_id)), "points": points,
              "money_cents": view.money_cents(points), "balance_after": outcome.entries[0].balance_after}
    return _record_once(staff, store_id, "points_deduct", member_id, key, print_, detail)


def _record_once(staff: Staff, store_id: int, action: str, member_id: int, key: str, print_: str,
                 detail: dict) -> dict:
    """Audit and commit an idempotent counter action. If the same request with the same key won a
    race meanwhile, this one's work is rolled back and the winner's answer returned."""
    try:
        _audit(staff, store_id, action, member_id=member_id, idempotency_key=key, fingerprint=print_, detail=detail)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        winner = _claim_action(staff, key, print_)
        if winner is None:
            raise
        return winner.detail
    return detail


def today_at_store(staff: Staff, store_id: int) -> dict:
    """Today's verifications and points given at a store (the clerk's 今日)."""
    require_store(staff, store_id)
    since = clock.local_midnight(clock.today())
    rows = dict(db.session.execute(select(StaffAction.action, func.count()).where(
        StaffAction.store_id == store_id, StaffAction.created_at >= since).group_by(StaffAction.action)).all())
    points = db.session.scalar(select(func.coalesce(func.sum(StaffAction.detail["points"].as_integer()), 0)).where(
        StaffAction.store_id == store_id, StaffAction.created_at >= since, StaffAction.action == "points_award"))
    return {"store_id": store_id, "verifications": rows.get("pickup_confirm", 0),
            "awards": rows.get("points_award", 0), "points_awarded": int(points),
            "deductions": rows.get("points_deduct", 0)}
