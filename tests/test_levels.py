"""Levels: promotion with growth, expiry actions with a controllable clock, rights, the ladder."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app import clock
from app.earning import engine
from app.extensions import db
from app.levels import service as levels
from app.levels.models import LevelChange, LevelNotice, MemberLevel
from app.points import service as ledger
from app.points.models import PointAccount
from app.programme import service as programme
from tests.support import auth, login, make_member, operator_headers, seed_levels, seed_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def member(ctx):
    seed_rules()
    seed_levels()
    return make_member()


def grow(member_id: int, amount: int, key: str):
    return ledger.earn(member_id, growth=amount, key=key, reason_code="t", reason="t")


def level(member_id: int) -> str:
    return db.session.get(MemberLevel, member_id, populate_existing=True).level_code


def growth(member_id: int) -> int:
    return db.session.get(PointAccount, member_id, populate_existing=True).growth


def changes(member_id: int) -> list[tuple]:
    return db.session.execute(select(LevelChange.from_code, LevelChange.to_code, LevelChange.reason)
                              .where(LevelChange.member_id == member_id).order_by(LevelChange.id)).all()


def test_exactly_at_a_threshold_is_promoted_one_below_is_not(member):
    grow(member, 1_999, "a")
    assert level(member) == "registered"
    grow(member, 1, "b")
    assert level(member) == "silver"
    assert changes(member) == [("registered", "silver", "promotion")]


def test_several_levels_at_once_is_one_change(member):
    grow(member, 12_000, "big")
    assert level(member) == "gold"
    assert changes(member) == [("registered", "gold", "promotion")]
    notice = db.session.scalar(select(LevelNotice))
    assert (notice.kind, notice.level_code) == ("level_up", "gold")


def test_first_purchase_reaches_bronze(member):
    engine.process(engine.Event("purchase", member, "p1", source="pos", attributes={"amount_cents": 500, "order_id": "o1"}))
    assert level(member) == "bronze"


def test_a_purchase_earning_nothing_still_reaches_bronze(member):
    from app.earning.models import EarnRule

    rule = db.session.scalar(select(EarnRule).where(EarnRule.event_type == "purchase"))
    rule.active = False
    db.session.commit()
    result = engine.process(engine.Event("purchase", member, "p0", source="pos",
                                         attributes={"amount_cents": 500, "order_id": "o0"}))
    assert result.points == 0 and level(member) == "bronze"


def test_growth_crossing_a_purchase_level_threshold_promotes_a_member_who_bought_before(member):
    from app.levels.models import LevelDefinition

    bronze = db.session.scalar(select(LevelDefinition).where(LevelDefinition.code == "bronze"))
    bronze.threshold = 100
    db.session.commit()
    engine.process(engine.Event("purchase", member, "p1", source="pos", attributes={"amount_cents": 5_000, "order_id": "o1"}))
    assert growth(member) == 50 and level(member) == "registered"
    grow(member, 49, "a")
    assert level(member) == "registered"
    grow(member, 1, "b")
    assert level(member) == "bronze"
    grow(member, 10, "c")  # growth without a purchase never reaches a purchase level on its own
    other = make_member()
    grow(other, 500, "d")
    assert level(other) == "registered"


def test_redemption_lowers_the_balance_never_the_level(member):
    ledger.earn(member, 5_000, growth=2_500, key="e", reason_code="t", reason="t")
    ledger.spend(member, 4_900, key="s", reason_code="redeem", reason="兑换")
    assert level(member) == "silver" and growth(member) == 2_500


def test_refund_takes_growth_back_and_drops_the_level_when_the_programme_says_so(member):
    engine.process(engine.Event("purchase", member, "p1", source="pos", attributes={"amount_cents": 300_000, "order_id": "o1"}))
    assert level(member) == "silver"
    engine.process(engine.Event("refund", member, "r1", source="pos", attributes={"amount_cents": 300_000, "order_id": "o1"}))
    assert growth(member) == 0 and level(member) == "bronze"
    assert changes(member)[-1] == ("silver", "bronze", "growth_reversed")


def test_refund_keeps_the_level_when_the_programme_says_so(member):
    programme.update({"downgrade_on_growth_reversal": False})
    engine.process(engine.Event("purchase", member, "p1", source="pos", attributes={"amount_cents": 300_000, "order_id": "o1"}))
    engine.process(engine.Event("refund", member, "r1", source="pos", attributes={"amount_cents": 300_000, "order_id": "o1"}))
    assert level(member) == "silver"


def test_level_multiplier_applies_to_an_earn(member):
    grow(member, 10_000, "to-gold")
    result = engine.process(engine.Event("purchase", member, "p1", source="pos", attributes={"amount_cents": 10_000, "order_id": "o1"}))
    assert result.points == 120 and result.rules[0].multiplier_pct == 120


@pytest.mark.parametrize("start_growth, expected_growth, expected_level", [
    (2_500, 0, "registered"),       # silver: growth reset
    (12_000, 8_400, "silver"),      # gold: growth discounted by 30%
    (36_000, 24_000, "gold"),       # diamond: a third deducted
    (45_000, 30_000, "diamond"),    # diamond: still qualifies after the deduction, renewed
])
def test_each_expiry_action_of_the_demo_programme(member, start_growth, expected_growth, expected_level):
    clock.freeze(datetime(2026, 1, 10, 12, tzinfo=SHANGHAI))
    before = (grow(member, start_growth, "g"), level(member))[1]
    clock.freeze(datetime(2027, 1, 10, 12, 0, 1, tzinfo=SHANGHAI))
    levels.expire_due()
    assert (growth(member), level(member)) == (expected_growth, expected_level)
    last = changes(member)[-1]
    assert last[0] == before and last[1] == expected_level and last[2] == "expired"
    state = db.session.get(MemberLevel, member)
    assert (state.expires_at is None) == (expected_level == "registered")


def test_keep_if_qualified_keeps_the_level(member, app):
    client = app.test_client()
    headers = operator_headers(app, client, "admin")
    body = {"code": "vip", "name": "VIP", "rank": 9, "threshold": 50_000, "validity_months": 6}
    assert client.post("/api/v1/admin/levels", json=body, headers=headers).status_code == 201
    levels.forget_definitions()
    clock.freeze(datetime(2026, 1, 10, 12, tzinfo=SHANGHAI))
    grow(member, 60_000, "g")
    assert level(member) == "vip"
    clock.freeze(datetime(2026, 7, 11, tzinfo=SHANGHAI))
    assert levels.expire_due() == {"expired": 1, "down": 0, "renewed": 1}
    assert level(member) == "vip" and growth(member) == 60_000


def test_a_downgrade_run_twice_on_the_same_day_changes_nothing_the_second_time(member):
    clock.freeze(datetime(2026, 1, 10, 12, tzinfo=SHANGHAI))
    grow(member, 12_000, "g")
    clock.freeze(datetime(2027, 1, 11, 3, tzinfo=SHANGHAI))
    assert levels.expire_due()["expired"] == 1
    snapshot = (growth(member), level(member), len(changes(member)))
    clock.advance(timedelta(hours=5))
    assert levels.expire_due()["expired"] == 0
    assert (growth(member), level(member), len(changes(member))) == snapshot


def test_concurrent_growth_earns_promote_once(app):
    with app.app_context():
        seed_levels()
        member = make_member()
        grow(member, 1_900, "base")
    barrier = threading.Barrier(10)

    def earn(i):
        with app.app_context():
            barrier.wait()
            try:
                grow(member, 100, f"c{i}")
            finally:
                db.session.remove()

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(earn, range(10)))
    with app.app_context():
        assert db.session.get(MemberLevel, member).level_code == "silver"
        assert db.session.scalar(select(func.count()).select_from(LevelChange)) == 1


def test_expiry_notices_30_and_7_days_ahead_once(member):
    clock.freeze(datetime(2026, 1, 10, 12, tzinfo=SHANGHAI))
    grow(member, 2_000, "g")
    clock.freeze(datetime(2026, 12, 11, 9, tzinfo=SHANGHAI))
    assert levels.notify_expiring() == 1
    assert levels.notify_expiring() == 0
    clock.freeze(datetime(2027, 1, 3, 9, tzinfo=SHANGHAI))
    assert levels.notify_expiring() == 1
    kinds = db.session.scalars(select(LevelNotice.kind).order_by(LevelNotice.id)).all()
    assert kinds == ["level_up", "level_expiring_30", "level_expiring_7"]


def test_public_ladder_and_my_level(app, client):
    with app.app_context():
        seed_rules()
        seed_levels()
    ladder = client.get("/api/v1/levels").get_json()["items"]
    assert [lv["code"] for lv in ladder] == ["registered", "bronze", "silver", "gold", "diamond"]
    gold = ladder[3]
    assert gold["threshold"] == 10_000 and "消费积分 1.2 倍" in gold["rights"] and "12 个月" in gold["validity"]
    session = login(client, "alice")
    with app.app_context():
        grow(session["member"]["id"], 2_950, "g")  # plus 50 for registering
    me = client.get("/api/v1/me/level", headers=auth(session)).get_json()
    assert me["level"]["code"] == "silver" and me["growth"] == 3_000
    assert me["growth_to_next"] == 7_000 and me["next_level"]["code"] == "gold"
    assert me["growth_to_keep"] is None  # silver resets growth at expiry: it is re-earned each year
    assert me["history"][0]["to"] == "silver" and me["expires_at"]


@pytest.mark.parametrize("body", [
    {"code": "x", "name": "X", "rank": 5, "threshold": 5_000},                             # overlaps gold/silver ladder
    {"code": "x", "name": "X", "rank": 5, "threshold": 90_000, "expiry_action": "deduct",
     "action_numerator": 4, "action_denominator": 3, "validity_months": 12},                # fraction above 1
    {"code": "x", "name": "X", "rank": 5, "threshold": 90_000, "validity_months": -1},     # negative validity
    {"code": "x", "name": "X", "rank": 5, "threshold": 90_000, "earn_multiplier_pct": 50},
    {"code": "gold", "name": "X", "rank": 6, "threshold": 90_000},                         # duplicate code
])
def test_bad_level_definitions_are_refused(app, client, body):
    with app.app_context():
        seed_levels()
    headers = operator_headers(app, client, "admin")
    response = client.post("/api/v1/admin/levels", json=body, headers=headers)
    assert 400 <= response.status_code < 500 and "error" in response.get_json()
    assert len(client.get("/api/v1/levels").get_json()["items"]) == 5


def test_an_earning_event_sees_a_level_change_committed_while_it_waited_for_the_account(app):
    """The engine reads the member's level for its promotion check after the account lock, so a
    level written by the lock's previous holder counts (read before the lock, it would be stale)."""
    with app.app_context():
        seed_rules()
        seed_levels()
        member = make_member()
        grow(member, 2_000, "base")
        assert level(member) == "silver"
    changed, result = threading.Event(), {}

    def operator_moves_the_member_down():
        with app.app_context():
            ledger.lock_account(member)  # the lock every writer of a member's level takes first
            db.session.execute(MemberLevel.__table__.update().where(MemberLevel.member_id == member)
                               .values(level_code="registered"))
            changed.set()
            time.sleep(0.5)
            db.session.commit()
            db.session.remove()

    def member_checks_in():
        with app.app_context():
            changed.wait()
            result["growth"] = engine.process(engine.Event("checkin", member, "late-checkin",
                                                           attributes={"points": 5, "streak": 1})).growth
            db.session.remove()

    threads = [threading.Thread(target=operator_moves_the_member_down), threading.Thread(target=member_checks_in)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        assert result["growth"] > 0
        # 2,000+ growth at "registered": the check-in's growth check promotes the member back to silver
        assert level(member) == "silver"
        assert changes(member)[-1] == ("registered", "silver", "promotion")


def test_check_ins_below_the_next_threshold_commit_alone_and_the_one_reaching_it_promotes(member):
    """A check-in that cannot reach a higher level commits with its last statement; the one whose
    growth reaches silver still goes through the level check, inside its transaction."""
    from app.checkin import service as checkin
    from app.earning.models import EarningEvent

    grow(member, 1_997, "base")  # placed at the lowest level
    clock.freeze(datetime(2026, 3, 2, 9, tzinfo=SHANGHAI))
    first = checkin.check_in(member)
    assert first.growth == 2
    db.session.remove()  # what another connection sees: the whole check-in, committed
    assert (growth(member), level(member)) == (1_999, "registered")
    event = db.session.scalars(select(EarningEvent).where(EarningEvent.member_id == member)).one()
    assert (event.status, event.points, event.growth) == ("awarded", first.points, 2)
    assert event.outcome[0]["status"] == "awarded"

    clock.advance(timedelta(days=1))
    checkin.check_in(member)
    db.session.remove()
    assert (growth(member), level(member)) == (2_001, "silver")
    assert changes(member)[-1] == ("registered", "silver", "promotion")


def test_a_check_in_places_a_member_not_placed_yet_at_the_lowest_level(member):
    from app.checkin import service as checkin

    assert db.session.get(MemberLevel, member) is None
    checkin.check_in(member)
    db.session.remove()
    assert level(member) == "registered"


def test_growth_leaves_the_level_alone_only_below_every_higher_threshold(member):
    # the demo ladder: registered 0, bronze 0 (with a first purchase), silver 2,000, gold 10,000
    assert levels.growth_leaves_level_alone("registered", 1_999, 2)
    assert levels.growth_leaves_level_alone("gold", 1_999, 2)  # whatever level the member holds by then
    assert not levels.growth_leaves_level_alone("registered", 2_000, 2)
    assert not levels.growth_leaves_level_alone("silver", 2_001, 2)  # silver may have been lost meanwhile
    assert not levels.growth_leaves_level_alone(None, 5, 5)  # not placed yet: the check places them
    assert not levels.growth_leaves_level_alone("retired-code", 5, 5)
