"""Where the earning engine learns a member's level and the multipliers in force.

The levels feature registers `level_of` (member id -> (level code, earn multiplier in percent));
until it does, every member has no level and a multiplier of 100%. Campaign multipliers come from
the `campaigns` table (a snapshot): the highest active one that covers the event applies (campaigns don't stack).
A campaign limited to a segment covers only its members; whether the member is in it is asked of the
database only for such a campaign when it would beat every campaign that covers the event anyway.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from app import snapshots
from app.earning.models import Campaign

snapshots.watch(Campaign, "campaigns")

LevelLookup = Callable[[int], tuple[str | None, int]]
_level_lookup: LevelLookup = lambda member_id: (None, 100)


def register_level_lookup(lookup: LevelLookup) -> None:
    global _level_lookup
    _level_lookup = lookup


def level_of(member_id: int) -> tuple[str | None, int]:
    return _level_lookup(member_id)


def campaigns() -> list[Campaign]:
    """Active campaigns (detached rows from a process-wide snapshot, see `app.snapshots`)."""
    return snapshots.get("campaigns", lambda session: list(
        session.scalars(select(Campaign).where(Campaign.active.is_(True)).order_by(Campaign.id))))


def campaign_multiplier(event_type: str, level_code: Callable[[], str | None], at: datetime,
                        in_segment: Callable[[str], bool] | None = None) -> tuple[int, str | None]:
    """(multiplier in percent, campaign name) of the best campaign covering this event, or (100, None).
    Campaigns don't stack; of equal multipliers the earliest created wins. `level_code()` is asked
    only when a campaign is limited to some levels, `in_segment(segment)` only when a campaign limited
    to a segment is the best left (without it, such campaigns cover no one)."""
    covering = []
    for campaign in campaigns():
        if not campaign.starts_at <= at < campaign.ends_at:
            continue
        if campaign.event_types is not None and event_type not in campaign.event_types:
            continue
        if campaign.level_codes is not None and (level_code() or "") not in campaign.level_codes:
            continue
        covering.append(campaign)
    covering.sort(key=lambda c: (-c.multiplier_pct, c.id))
    for campaign in covering:
        if campaign.segment is None or (in_segment is not None and in_segment(campaign.segment)):
            return campaign.multiplier_pct, campaign.name
    return 100, None
