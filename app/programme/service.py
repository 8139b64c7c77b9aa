"""Reading and changing the programme's settings, and the one place that knows the points' name."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import clock, snapshots
from app.extensions import db
from app.programme.models import Programme

snapshots.watch(Programme, "programme")


@dataclass(frozen=True)
class ProgrammeView:
    name: str
    points_name: str
    points_per_yuan: int
    expiry_policy: str
    expiry_days: int
    expiry_years: int
    downgrade_on_growth_reversal: bool = True
    poster_template: str = "classic"
    referral_qualify_on: str = "phone"
    member_day_enabled: bool = True
    member_day_of_month: int = 8
    member_day_multiplier_pct: int = 200
    member_day_name: str = "会员日"

    def money_cents(self, points: int) -> int:
        """The money value of `points` in fen, rounded down (a liability is never overstated by rounding)."""
        return points * 100 // self.points_per_yuan

    def lot_expiry(self, earned_at: datetime) -> datetime | None:
        """When points earned at `earned_at` expire, by the programme's policy (None: never)."""
        day = clock.business_date(earned_at)
        if self.expiry_policy == "never":
            return None
        if self.expiry_policy == "days":
            return clock.local_midnight(day + timedelta(days=self.expiry_days + 1))
        if self.expiry_policy == "month_end":
            last = calendar.monthrange(day.year, day.month)[1]
            return clock.local_midnight(date(day.year, day.month, last) + timedelta(days=1))
        return clock.local_midnight(date(day.year + self.expiry_years + 1, 1, 1))


def ensure_programme(**defaults: Any) -> None:
    snapshots.touched("programme")
    db.session.execute(insert(Programme).values(id=1, **defaults).on_conflict_do_nothing(index_elements=["id"]))


def _load(session: Session) -> ProgrammeView:
    row = session.get(Programme, 1)
    if row is None:  # a new database: the defaults, written in the loader's own transaction
        session.execute(insert(Programme).values(id=1).on_conflict_do_nothing(index_elements=["id"]))
        session.commit()
        row = session.get(Programme, 1)
    return ProgrammeView(row.name, row.points_name, row.points_per_yuan, row.expiry_policy,
                         row.expiry_days, row.expiry_years, row.downgrade_on_growth_reversal,
                         row.poster_template, row.referral_qualify_on, row.member_day_enabled,
                         row.member_day_of_month, row.member_day_multiplier_pct, row.member_day_name)


def current() -> ProgrammeView:
    """The programme's settings (a process-wide snapshot, see `app.snapshots`)."""
    return snapshots.get("programme", _load)


def update(changes: dict[str, Any]) -> ProgrammeView:
    row = db.session.get(Programme, 1)
    if row is None:
        ensure_programme()
        row = db.session.get(Programme, 1)
    for field, value in changes.items():
        setattr(row, field, value)
    db.session.commit()
    return current()
