"""Daily check-in, with a controllable clock (Asia/Shanghai business days)."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import func, select

from app import clock
from app.checkin import service as checkin
from app.checkin.models import Checkin
from app.errors import Conflict
from app.extensions import db
from app.points.models import LedgerEntry, PointAccount
from tests.support import auth, login, make_member, seed_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
CYCLE = [5, 5, 10, 10, 15, 15, 50]


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def member(ctx):
    seed_rules()
    return make_member()


def available(member_id: int) -> int:
    return db.session.get(PointAccount, member_id, populate_existing=True).available


def test_2359_and_0000_shanghai_are_two_business_days(member):
    clock.freeze(at(2026, 6, 1, 23, 59, 59))
    first = checkin.check_in(member)
    clock.freeze(at(2026, 6, 2, 0, 0, 0))
    second = checkin.check_in(member)
    assert (first.day.day, second.day.day) == (1, 2)
    assert (first.streak, second.streak) == (1, 2)


def test_second_check_in_on_the_same_day_is_refused_and_pays_nothing(member):
    clock.freeze(at(2026, 6, 1, 9))
    checkin.check_in(member)
    clock.freeze(at(2026, 6, 1, 23, 59))
    with pytest.raises(Conflict):
        checkin.check_in(member)
    assert available(member) == 5


def test_a_missed_day_breaks_the_streak(member):
    clock.freeze(at(2026, 6, 1, 9))
    checkin.check_in(member)
    clock.advance(timedelta(days=1))
    assert checkin.check_in(member).streak == 2
    clock.advance(timedelta(days=2))
    result = checkin.check_in(member)
    assert result.streak == 1 and result.points == CYCLE[0]


def test_the_seventh_day_bonus_comes_once_per_cycle(member):
    clock.freeze(at(2026, 6, 1, 9))
    rewards = []
    for _ in range(15):
        rewards.append(checkin.check_in(member).points)
        clock.advance(timedelta(days=1))
    assert rewards == CYCLE + CYCLE + [5]
    assert rewards.count(50) == 2


def test_a_make_up_repairs_the_streak_and_respects_its_limit(member):
    from app.points import service as ledger

    ledger.earn(member, 100, key="float", reason_code="t", reason="t")
    clock.freeze(at(2026, 6, 1, 9))
    checkin.check_in(member)
    clock.freeze(at(2026, 6, 3, 9))
    checkin.check_in(member)
    clock.freeze(at(2026, 6, 4, 9))
    assert checkin.check_in(member).streak == 2
    before = available(member)
    repaired = checkin.make_up(member, at(2026, 6, 2).date())
    assert repaired.made_up and repaired.streak == 2
    assert db.session.scalar(select(Checkin.streak).where(Checkin.day == at(2026, 6, 4).date())) == 4
    assert available(member) == before - 20 + CYCLE[0]  # costs 20, earns the first day's reward
    clock.freeze(at(2026, 6, 5, 9))
    assert checkin.check_in(member).streak == 5
    clock.freeze(at(2026, 6, 9, 9))
    checkin.make_up(member, at(2026, 6, 6).date())
    with pytest.raises(Conflict) as exhausted:
        checkin.make_up(member, at(2026, 6, 7).date())
    assert exhausted.value.code == "makeups_exhausted"


def test_make_ups_only_for_earlier_days_of_this_month(member):
    from app.errors import Unprocessable

    clock.freeze(at(2026, 6, 3, 9))
    for day in (at(2026, 5, 31).date(), at(2026, 6, 3).date(), at(2026, 6, 4).date()):
        with pytest.raises(Unprocessable):
            checkin.make_up(member, day)


def test_monthly_cumulative_rewards_are_given_once(member):
    clock.freeze(at(2026, 6, 1, 9))
    bonuses = []
    for _ in range(12):
        bonuses.append(checkin.check_in(member).monthly_bonus)
        clock.advance(timedelta(days=1))
    assert bonuses[9] == 20 and sum(bonuses) == 20
    reasons = db.session.scalars(select(LedgerEntry.reason_code).where(LedgerEntry.reason_code == "checkin-monthly")).all()
    assert reasons == ["checkin-monthly"]


def test_thirty_parallel_check_ins_award_once(app, live_server, client):
    with app.app_context():
        seed_rules()
    session = login(client, "alice")
    headers = auth(session)

    def tap(_):
        return requests.post(f"{live_server}/api/v1/checkins", headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(tap, range(30)))
    assert statuses.count(201) == 1 and statuses.count(409) == 29
    with app.app_context():
        member = session["member"]["id"]
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 1
        assert db.session.scalar(select(func.count()).where(LedgerEntry.reason_code == "checkin",
                                                            LedgerEntry.currency == "points")) == 1


def test_calendar_shows_the_month_the_streak_and_tomorrow(app, client):
    with app.app_context():
        seed_rules()
    headers = auth(login(client, "alice"))
    clock.freeze(at(2026, 6, 1, 9))
    client.post("/api/v1/checkins", headers=headers)
    clock.freeze(at(2026, 6, 2, 9))
    before = client.get("/api/v1/checkins", headers=headers).get_json()
    assert (before["checked_today"], before["streak"], before["today_reward"], before["tomorrow_reward"]) == (False, 1, 5, 10)
    assert client.post("/api/v1/checkins", headers=headers).status_code == 201
    cal = client.get("/api/v1/checkins?month=2026-06", headers=headers).get_json()
    assert [d["day"] for d in cal["days"]] == ["2026-06-01", "2026-06-02"]
    assert (cal["checked_today"], cal["streak"], cal["tomorrow_reward"], cal["makeups_left"]) == (True, 2, 10, 2)
    assert cal["monthly_rewards"][0] == {"days": 10, "points": 20, "reached": False}
    for bad in ("month=2026-13", "month=June", "month=2026-06&x=1", "month=0000-01"):
        assert client.get(f"/api/v1/checkins?{bad}", headers=headers).status_code == 422
    assert client.post("/api/v1/checkins/makeups", json={"day": "not-a-date"}, headers=headers).status_code == 422


def test_a_make_up_committed_while_a_check_in_waits_for_the_lock_counts_for_the_streak(app):
    """Check-in sends its lock and its insert in one round trip, yet the insert's snapshot is taken
    after the lock is granted: yesterday's row, committed by the lock's previous holder, counts."""
    with app.app_context():
        seed_rules()
        member = make_member()
    clock.freeze(at(2026, 6, 10, 9))
    holding, result = threading.Event(), {}

    def make_up_holding_the_lock():
        with app.app_context():
            checkin._lock(member)
            db.session.add(Checkin(member_id=member, day=at(2026, 6, 9).date(), made_up=True, streak=1,
                                   created_at=clock.now()))
            db.session.flush()
            holding.set()
            time.sleep(0.5)
            db.session.commit()
            db.session.remove()

    def check_in():
        with app.app_context():
            holding.wait()
            result["streak"] = checkin.check_in(member).streak
            db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(make_up_holding_the_lock), pool.submit(check_in)]:
            future.result()
    assert result["streak"] == 2
