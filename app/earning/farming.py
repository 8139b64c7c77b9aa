"""Anti-farming: flag members whose pattern looks like farming, for an operator to judge.

The signal: on each of the last N business days (7 by default) the member had an event refused
for being over a cap. Honest members rarely hit a cap every single day for a week; scripts do.
A flag changes nothing by itself: an operator resolves it, with or without a penalty (a ledger entry).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from app import clock
from app.errors import Conflict, NotFound
from app.extensions import db
from app.members.models import MemberFlag
from app.points import service as ledger

_SUSPECTS = text("""
SELECT member_id, count(DISTINCT (occurred_at AT TIME ZONE :tz)::date) AS days
FROM earning_events
WHERE status = 'rejected' AND occurred_at >= :since AND occurred_at < :until
  AND EXISTS (SELECT 1 FROM jsonb_array_elements(outcome) r WHERE r->>'reason' LIKE 'over\\_%\\_cap')
GROUP BY member_id
HAVING count(DISTINCT (occurred_at AT TIME ZONE :tz)::date) >= :days
""")


def flag_farming(days: int = 7) -> int:
    """Flag every member over a cap on each of the last `days` business days; returns new flags."""
    today = clock.today()
    since, until = clock.local_midnight(today - timedelta(days=days)), clock.local_midnight(today)
    suspects = db.session.execute(_SUSPECTS, {"tz": clock.zone().key, "since": since, "until": until,
                                              "days": days}).all()
    added = 0
    for member_id, hit_days in suspects:
        added += db.session.execute(insert(MemberFlag).values(
            member_id=member_id, kind="farming", created_at=clock.now(),
            reason=f"连续 {hit_days} 天触达奖励上限,疑似刷分").on_conflict_do_nothing(
            index_elements=["member_id", "kind"], index_where=text("resolved_at IS NULL"))
            .returning(MemberFlag.id)).scalar() is not None
    db.session.commit()
    return added


def open_flags(kind: str | None = None) -> list[MemberFlag]:
    query = select(MemberFlag).where(MemberFlag.resolved_at.is_(None)).order_by(MemberFlag.id.desc())
    if kind:
        query = query.where(MemberFlag.kind == kind)
    return list(db.session.scalars(query))


def resolve(flag_id: int, *, operator_id: int, resolution: str, penalty_points: int = 0) -> MemberFlag:
    """Close a flag; with `penalty_points` the member is penalised through the ledger (once)."""
    flag = db.session.get(MemberFlag, flag_id, with_for_update=True)
    if flag is None:
        raise NotFound("标记不存在", code="unknown_flag")
    if flag.resolved_at is not None:
        raise Conflict("该标记已处理", code="flag_resolved")
    if penalty_points:
        ledger.adjust(flag.member_id, -penalty_points, key=f"flag:{flag.id}:penalty", reason=resolution,
                      operator_id=operator_id, penalty=True, reason_code="farming_penalty")
        flag = db.session.get(MemberFlag, flag_id, with_for_update=True)
    flag.resolved_at = clock.now()
    flag.resolved_by = operator_id
    flag.resolution = resolution
    db.session.commit()
    return flag
