"""Where the earning engine learns a member's level and the multipliers in force.

The levels feature registers `level_of` (member id -> (level code, earn multiplier in percent));
until it does, every member has no level and a multiplier of 100%. Campaign multipliers come from
the `campaigns` table: the highest active one that covers the event applies (campaigns don't stack).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, or_, select

from app.earning.models import Campaign
from app.extensions import db

LevelLookup = Callable[[int], tuple[str | None, int]]
_level_lookup: LevelLookup = lambda member_id: (None, 100)


def register_level_lookup(lookup: LevelLookup) -> None:
    global _level_lookup
    _level_lookup = lookup


def level_of(member_id: int) -> tuple[str | None, int]:
    return _level_lookup(member_id)


def campaign_multiplier(event_type: str, level_code: str | None, at: datetime) -> tuple[int, str | None]:
    """(multiplier in percent, campaign name) of the best campaign covering this event, or (100, None)."""
    row = db.session.execute(
        select(Campaign.multiplier_pct, Campaign.name)
        .where(Campaign.active.is_(True), Campaign.starts_at <= at, Campaign.ends_at > at,
               or_(Campaign.event_types.is_(None), Campaign.event_types.any(event_type)),
               or_(Campaign.level_codes.is_(None), Campaign.level_codes.any(level_code or "")))
        .order_by(Campaign.multiplier_pct.desc(), func.random()).limit(1)
    ).first()
    return (row.multiplier_pct, row.name) if row else (100, None)
