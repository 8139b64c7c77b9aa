"""The dashboard keeps closed days' figures; what it shows must always equal the figures computed live."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app import clock
from app.checkin import service as checkin
from app.dashboard import figures, rollup
from app.dashboard.models import DashboardDay, DashboardRollup
from app.extensions import db
from app.points import service as ledger
from tests.support import make_member, seed_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def live(period: figures.Period) -> list[dict]:
    computed = rollup.compute(period.start, period.end)
    return [{"day": day, **computed[day]} for day in period.days()]


@pytest.fixture
def week(ctx):
    """Three members checking in and earning over 5-9 June 2026; the clock stops on the 10th at noon."""
    seed_rules()
    members = []
    for offset in range(5):
        clock.freeze(at(2026, 6, 5 + offset, 9, 30))
        members.append(make_member(f"r{offset}"))
        for member in members[::2]:
            checkin.check_in(member)
        ledger.earn(members[0], 7, key=f"purchase-{offset}", reason_code="purchase", reason="消费")
    clock.freeze(at(2026, 6, 10, 12, 0))
    return members


def test_kept_days_read_back_what_the_tables_say(week):
    period = figures.Period(at(2026, 6, 4).date(), at(2026, 6, 10).date())
    shown = rollup.days(period.start, period.end)
    assert shown == live(period)
    kept = db.session.scalars(select(DashboardDay.day).order_by(DashboardDay.day)).all()
    assert kept == [at(2026, 6, d).date() for d in range(5, 10)]  # the 10th is today: never kept
    assert db.session.get(DashboardRollup, 1).through == at(2026, 6, 9).date()
    june_7 = next(d for d in shown if d["day"] == at(2026, 6, 7).date())
    assert (june_7["new_members"], june_7["checkins"], june_7["active_members"]) == (1, 2, 2)
    data = figures.dashboard(period)
    assert data["points"]["books"]["period"]["issued"] == sum(d["issued"] for d in data["points"]["daily"])
    assert data["members"]["total"] == 5


def test_a_day_just_past_midnight_waits_until_it_has_settled(week):
    clock.freeze(at(2026, 6, 10, 0, 20))  # the 9th ended 20 minutes ago: writes may still be committing
    rollup.days(at(2026, 6, 5).date(), at(2026, 6, 10).date())
    assert db.session.get(DashboardRollup, 1).through == at(2026, 6, 8).date()


def test_a_make_up_for_a_kept_day_is_counted_again(week):
    period = figures.Period(at(2026, 6, 5).date(), at(2026, 6, 10).date())
    before = {d["day"]: d for d in rollup.days(period.start, period.end)}
    missed = week[1]  # checked in on no day
    ledger.earn(missed, 50, key="for-the-make-up", reason_code="purchase", reason="消费")  # what it costs
    checkin.make_up(missed, at(2026, 6, 8).date())
    after = {d["day"]: d for d in rollup.days(period.start, period.end)}
    day = at(2026, 6, 8).date()
    assert after[day]["checkins"] == before[day]["checkins"] + 1
    assert list(after.values()) == live(period)


def test_a_back_dated_entry_recomputes_its_day(week):
    period = figures.Period(at(2026, 6, 5).date(), at(2026, 6, 10).date())
    rollup.days(period.start, period.end)
    clock.freeze(at(2026, 6, 6, 15, 0))  # e.g. an import stamping entries with their original time
    ledger.earn(week[1], 40, key="late-import", reason_code="import", reason="迁移")
    clock.freeze(at(2026, 6, 10, 12, 0))
    shown = rollup.days(period.start, period.end)
    assert shown == live(period)
    assert next(d for d in shown if d["day"] == at(2026, 6, 6).date())["issued"] >= 40


def test_changing_the_time_zone_recomputes_every_day(week):
    period = figures.Period(at(2026, 6, 5).date(), at(2026, 6, 9).date())
    rollup.days(period.start, period.end)
    clock.set_zone("UTC")
    try:
        assert rollup.days(period.start, period.end) == live(period)
        assert db.session.get(DashboardRollup, 1, populate_existing=True).zone == "UTC"
    finally:
        clock.set_zone("Asia/Shanghai")


def test_rebuild_drops_the_kept_days(week):
    rollup.days(at(2026, 6, 5).date(), at(2026, 6, 9).date())
    rollup.rebuild()
    assert db.session.scalar(select(func.count()).select_from(DashboardDay)) == 0
    assert rollup.days(at(2026, 6, 5).date(), at(2026, 6, 9).date())[0]["new_members"] == 1
