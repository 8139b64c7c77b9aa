"""Read side of the value account: a member's balances and their ledger, page by page."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.pagination import cursor_page, decode_cursor
from app.points.models import LedgerEntry, PointAccount, PointsLot
from app.points.service import settle_member
from app.programme import service as programme

EXPIRY_WINDOW_DAYS = 30


def account(member_id: int) -> dict:
    """Balances as the member sees them, after releasing and expiring anything already due."""
    settle_member(member_id)
    row = db.session.get(PointAccount, member_id)
    view = programme.current()
    at = clock.now()
    horizon = at + timedelta(days=EXPIRY_WINDOW_DAYS)
    expiring = db.session.execute(
        select(PointsLot.expires_at, func.sum(PointsLot.remaining))
        .where(PointsLot.member_id == member_id, PointsLot.status == "active", PointsLot.remaining > 0,
               PointsLot.expires_at > at, PointsLot.expires_at <= horizon)
        .group_by(PointsLot.expires_at).order_by(PointsLot.expires_at)
    ).all()
    available = row.available if row else 0
    return {
        "points": {
            "name": view.points_name,
            "available": available,
            "pending": row.pending if row else 0,
            "expiring": {
                "amount": int(expiring[0][1]) if expiring else 0,
                # a lot expiring at local midnight is last usable the day before
                "date": clock.business_date(expiring[0][0] - timedelta(microseconds=1)) if expiring else None,
                "within_30_days": int(sum(amount for _, amount in expiring)),
            },
            "money_cents": view.money_cents(available),
            "points_per_yuan": view.points_per_yuan,
        },
        "growth": row.growth if row else 0,
        "lifetime_earned": row.lifetime_earned if row else 0,
        "lifetime_spent": row.lifetime_spent if row else 0,
        "expired": row.expired if row else 0,
    }


def ledger(member_id: int, *, cursor: str | None, limit: int, currency: str | None = None,
           kind: str | None = None) -> tuple[list[LedgerEntry], str | None]:
    """The member's entries, newest first."""
    below = decode_cursor(cursor)
    query = select(LedgerEntry).where(LedgerEntry.member_id == member_id)
    if below is not None:
        query = query.where(LedgerEntry.id < below)
    if currency:
        query = query.where(LedgerEntry.currency == currency)
    if kind:
        query = query.where(LedgerEntry.kind == kind)
    rows = list(db.session.execute(query.order_by(LedgerEntry.id.desc()).limit(limit + 1)).scalars())
    return cursor_page(rows, limit)
