"""Operators' changes to the check-in table. The member API reads it from a snapshot
(`service.settings()`); committing the change through the ORM drops that snapshot at once."""
from __future__ import annotations

from typing import Any

from app.checkin import service
from app.checkin.models import CheckinSettings
from app.extensions import db


def current() -> CheckinSettings:
    """The row itself, in this request's session (the snapshot's copy is detached, for reading)."""
    return service.load_settings(db.session)


def update_settings(fields: dict[str, Any]) -> CheckinSettings:
    """Replace the table. Monthly thresholds are kept in day order; new list and dict objects are
    assigned (an in-place change to an ARRAY or JSONB value would not be seen by the session)."""
    row = current()
    row.cycle_rewards = list(fields["cycle_rewards"])
    row.monthly_rewards = {str(day): points for day, points in
                           sorted(fields["monthly_rewards"].items(), key=lambda pair: int(pair[0]))}
    row.makeups_per_month = fields["makeups_per_month"]
    row.makeup_cost_points = fields["makeup_cost_points"]
    db.session.commit()
    return row
