"""Operators' changes to level definitions: the ladder must stay coherent."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound, Unprocessable
from app.extensions import db
from app.levels.models import LevelDefinition
from app.levels.service import forget_definitions
from config.levels import DEMO_LEVELS


def _check_ladder(levels: list[LevelDefinition]) -> None:
    """Thresholds must not overlap: a higher rank needs more growth than any lower one
    (a condition level may share its growth threshold with the level below it)."""
    ordered = sorted(levels, key=lambda lv: lv.rank)
    for lower, higher in zip(ordered, ordered[1:]):
        same_allowed = higher.condition != "growth" and higher.threshold == lower.threshold
        if higher.threshold <= lower.threshold and not same_allowed:
            raise Unprocessable(f"等级门槛重叠: {higher.code} 的成长值门槛须高于 {lower.code}",
                                code="overlapping_thresholds")
    if ordered and ordered[0].threshold != 0:
        raise Unprocessable("最低等级的门槛须为 0", code="lowest_level_threshold")


def save(fields: dict[str, Any], code: str | None = None) -> LevelDefinition:
    if code is None:
        level = LevelDefinition(**fields)
        db.session.add(level)
    else:
        level = db.session.scalar(select(LevelDefinition).where(LevelDefinition.code == code))
        if level is None:
            raise NotFound("等级不存在", code="unknown_level")
        for name, value in fields.items():
            setattr(level, name, value)
    try:
        db.session.flush()
        _check_ladder(list(db.session.scalars(select(LevelDefinition))))
        db.session.commit()
    except Unprocessable:
        db.session.rollback()
        raise
    except IntegrityError:
        db.session.rollback()
        raise Conflict("等级编码或排序重复", code="level_conflict")
    forget_definitions()
    return level


def seed_levels() -> int:
    """The demo ladder, skipping any level whose code or rank an operator already uses."""
    taken = db.session.execute(select(LevelDefinition.code, LevelDefinition.rank)).all()
    codes, ranks = {code for code, _ in taken}, {rank for _, rank in taken}
    added = 0
    for spec in DEMO_LEVELS:
        if spec["code"] not in codes and spec["rank"] not in ranks:
            db.session.add(LevelDefinition(**spec))
            added += 1
    db.session.commit()
    forget_definitions()
    return added
