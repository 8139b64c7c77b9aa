"""The lottery (wheel or nine-grid). The draw is decided on the server with `secrets` over the
weights of the prizes still in stock; a prize's stock is taken with a conditional UPDATE, so an
out-of-stock prize is never given (the draw falls back to a "nothing" prize). The odds are public."""
from __future__ import annotations

import secrets

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from app import clock, locks
from app.errors import Conflict, NotFound, Unprocessable
from app.extensions import db
from app.points import service as ledger
from mall.models import Item, LotteryDraw, LotteryPrize, LotterySettings
from mall.orders import grant_item


def settings() -> LotterySettings:
    row = db.session.get(LotterySettings, 1)
    if row is None:
        db.session.execute(insert(LotterySettings).values(id=1).on_conflict_do_nothing())
        db.session.flush()
        row = db.session.get(LotterySettings, 1)
    return row


def list_prizes() -> list[LotteryPrize]:
    return list(db.session.scalars(select(LotteryPrize).order_by(LotteryPrize.sort, LotteryPrize.id)))


def save_prize(fields: dict, prize_id: int | None = None) -> LotteryPrize:
    """Create a prize, or replace one's fields (draws already made keep what they gave)."""
    if fields.get("item_id") is not None and db.session.get(Item, fields["item_id"]) is None:
        raise NotFound("商品不存在", code="unknown_item")
    if prize_id is None:
        prize = LotteryPrize(**fields)
        db.session.add(prize)
    else:
        prize = db.session.get(LotteryPrize, prize_id)
        if prize is None:
            raise NotFound("奖品不存在", code="unknown_prize")
        for name, value in fields.items():
            setattr(prize, name, value)
    db.session.commit()
    return prize


def update_settings(fields: dict) -> LotterySettings:
    row = settings()
    for name, value in fields.items():
        setattr(row, name, value)
    db.session.commit()
    return row


def _live_prizes() -> list[LotteryPrize]:
    return list(db.session.scalars(select(LotteryPrize).where(
        LotteryPrize.active.is_(True), (LotteryPrize.stock.is_(None)) | (LotteryPrize.stock > 0))
        .order_by(LotteryPrize.sort, LotteryPrize.id)))


def odds() -> dict:
    cfg = settings()
    prizes = _live_prizes()
    total = sum(p.weight for p in prizes)
    return {"cost_points": cfg.cost_points, "daily_limit": cfg.daily_limit, "active": cfg.active,
            "prizes": [{"id": p.id, "name": p.name, "kind": p.kind, "points": p.points,
                        "probability": round(p.weight / total, 6) if total else 0.0} for p in prizes]}


def draw(member_id: int, key: str) -> dict:
    cfg = settings()
    if not cfg.active:
        raise Unprocessable("抽奖活动未开启", code="lottery_closed")
    existing = db.session.scalar(select(LotteryDraw).where(LotteryDraw.member_id == member_id,
                                                           LotteryDraw.idempotency_key == key))
    if existing is not None:
        return _result(existing, replayed=True)
    locks.hold(f"lottery:{member_id}")
    today = db.session.scalar(select(func.count()).where(
        LotteryDraw.member_id == member_id, LotteryDraw.created_at >= clock.local_midnight(clock.today())))
    if today >= cfg.daily_limit:
        db.session.rollback()
        raise Conflict(f"今日抽奖次数已用完(每日 {cfg.daily_limit} 次)", code="draw_limit_reached")
    draw_row = LotteryDraw(member_id=member_id, prize_id=0, idempotency_key=key, cost_points=cfg.cost_points,
                           created_at=clock.now())
    prize = _pick()
    draw_row.prize_id = prize.id
    db.session.add(draw_row)
    db.session.flush()
    if cfg.cost_points:
        ledger.spend(member_id, cfg.cost_points, key=f"lottery:{draw_row.id}:cost", reason_code="lottery_draw",
                     reason="幸运抽奖", source_type="lottery", source_id=str(draw_row.id), commit=False)
    if prize.kind == "item" and prize.item_id:
        grant_item(member_id, prize.item_id, key=f"lottery:{draw_row.id}", reason=f"抽奖奖品:{prize.name}")
    if prize.kind == "points" and prize.points:
        ledger.earn(member_id, prize.points, key=f"lottery:{draw_row.id}:prize", reason_code="lottery_prize",
                    reason=f"抽奖奖励:{prize.name}", source_type="lottery", source_id=str(draw_row.id), commit=False)
    db.session.commit()
    return _result(draw_row)


def _pick() -> LotteryPrize:
    """A weighted secure draw over prizes in stock; stock is taken atomically (a prize that ran out
    between reading and taking is drawn again without it)."""
    prizes = _live_prizes()
    while prizes:
        roll = secrets.randbelow(sum(p.weight for p in prizes))
        for prize in prizes:
            roll -= prize.weight
            if roll < 0:
                break
        if prize.stock is None:
            return prize
        taken = db.session.execute(update(LotteryPrize).where(LotteryPrize.id == prize.id, LotteryPrize.stock > 0)
                                   .values(stock=LotteryPrize.stock - 1).returning(LotteryPrize.id)).scalar()
        if taken is not None:
            return prize
        prizes = [p for p in prizes if p.id != prize.id]
    db.session.rollback()
    raise Conflict("奖品已全部抽完", code="lottery_empty")


def _result(row: LotteryDraw, replayed: bool = False) -> dict:
    prize = db.session.get(LotteryPrize, row.prize_id)
    return {"draw_id": row.id, "prize": {"id": prize.id, "name": prize.name, "kind": prize.kind, "points": prize.points},
            "cost_points": row.cost_points, "replayed": replayed}
