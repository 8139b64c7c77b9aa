"""The earning engine: rules, caps, budgets, multipliers, execution rewards, client actions."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app import clock
from app.earning import engine, multipliers
from app.earning.models import Campaign, EarnRule, RuleAward
from app.errors import Unprocessable
from app.extensions import db
from app.points.models import PointAccount
from tests.support import auth, login, make_member, operator_headers, seed_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def member(ctx):
    seed_rules()
    return make_member()


def balance(member_id: int) -> tuple[int, int, int]:
    account = db.session.get(PointAccount, member_id, populate_existing=True)
    return (account.available, account.pending, account.growth) if account else (0, 0, 0)


def purchase(member_id: int, event_id: str, cents: int, order: str, **kw) -> engine.EventResult:
    return engine.process(engine.Event("purchase", member_id, event_id, source="pos",
                                       attributes={"amount_cents": cents, "order_id": order}, **kw))


def test_daily_cap_rejects_with_a_recorded_reason(member):
    results = [engine.process(engine.Event("share", member, f"s{i}")) for i in range(4)]
    assert [r.status for r in results] == ["awarded"] * 3 + ["rejected"]
    assert results[-1].rules[0].reason == "over_daily_cap"
    assert balance(member)[0] == 15


def test_caps_count_per_business_day(member):
    clock.freeze(at(2026, 3, 1, 23, 59))
    for i in range(3):
        engine.process(engine.Event("share", member, f"d1-{i}"))
    clock.freeze(at(2026, 3, 2, 0, 1))
    assert engine.process(engine.Event("share", member, "d2-0")).status == "awarded"


def test_caps_hold_under_parallel_events(app):
    with app.app_context():
        seed_rules()
        member = make_member()
    barrier = threading.Barrier(20)

    def send(i):
        with app.app_context():
            barrier.wait()
            try:
                return engine.process(engine.Event("share", member, f"parallel-{i}")).status
            finally:
                db.session.remove()

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(send, range(20)))
    assert statuses.count("awarded") == 3
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RuleAward)) == 3
        assert db.session.get(PointAccount, member).available == 15


def test_the_same_event_is_processed_once(member):
    first = engine.process(engine.Event("share", member, "once"))
    again = engine.process(engine.Event("share", member, "once"))
    assert again.duplicate and again.points == first.points == 5
    assert balance(member)[0] == 5


def test_weekly_and_lifetime_caps_reject_with_their_reasons(member):
    clock.freeze(at(2026, 3, 2, 10))  # a Monday: five courses a week, then the week is full
    courses = [engine.process(engine.Event("course_completed", member, f"c{i}")) for i in range(6)]
    assert [r.status for r in courses] == ["awarded"] * 5 + ["rejected"]
    assert courses[-1].rules[0].reason == "over_weekly_cap"
    clock.freeze(at(2026, 3, 9, 10))  # the next Monday
    assert engine.process(engine.Event("course_completed", member, "next-week")).status == "awarded"
    invited = [engine.process(engine.Event("invited_bonus", member, f"i{i}", attributes={"points": 50}))
               for i in range(2)]
    assert [r.rules[0].reason for r in invited] == [None, "over_lifetime_cap"]
    assert balance(member)[0] == 6 * 30 + 50


def test_an_event_is_stored_with_its_outcome_awards_and_entries(member):
    """What the engine keeps for a paid and a refused event: the event's row and outcome, the award
    that caps count, linked to its ledger entries and lot, under the event's key."""
    from app.earning.models import EarningEvent
    from app.points.models import LedgerEntry, LedgerOperation, PointsLot

    paid = engine.process(engine.Event("live_stream_watched", member, "live-a"))
    engine.process(engine.Event("live_stream_watched", member, "live-b"))
    refused = engine.process(engine.Event("live_stream_watched", member, "live-c"))
    assert refused.status == "rejected" and refused.rules[0].reason == "over_daily_cap"
    rows = {row.event_id: row for row in db.session.scalars(select(EarningEvent))}
    assert (rows["live-a"].status, rows["live-a"].points, rows["live-a"].growth) == ("awarded", 10, 5)
    assert rows["live-a"].outcome == [{"rule": "live", "status": "awarded", "reason": None, "points": 10,
                                       "growth": 5, "multiplier_pct": 100, "campaign": None}]
    assert (rows["live-c"].status, rows["live-c"].points) == ("rejected", 0)
    assert rows["live-c"].outcome[0]["reason"] == "over_daily_cap"
    award = db.session.scalar(select(RuleAward).where(RuleAward.event_row_id == paid.event_row_id))
    op = db.session.scalar(select(LedgerOperation).where(LedgerOperation.key.like(f"event:{paid.event_row_id}:rule:%")))
    entries = {e.currency: e for e in db.session.scalars(select(LedgerEntry).where(LedgerEntry.operation_id == op.id))}
    assert (award.points_entry_id, award.growth_entry_id) == (entries["points"].id, entries["growth"].id)
    assert (entries["points"].amount, entries["growth"].amount, entries["points"].reason_code) == (10, 5, "live")
    assert db.session.scalar(select(PointsLot.amount).where(PointsLot.earn_entry_id == entries["points"].id)) == 10
    assert db.session.scalar(select(func.count()).select_from(RuleAward)) == 2
    again = engine.process(engine.Event("live_stream_watched", member, "live-c"))
    assert again.duplicate and again.rules[0].reason == "over_daily_cap"


def test_rule_outside_its_window_pays_nothing(member):
    rule = db.session.scalar(select(EarnRule).where(EarnRule.code == "live"))
    rule.ends_at = at(2026, 1, 1)
    db.session.commit()
    result = engine.process(engine.Event("live_stream_watched", member, "live-1"))
    assert result.status == "rejected" and result.rules[0].reason == "rule_inactive"


def test_budget_stops_a_rule(member):
    rule = db.session.scalar(select(EarnRule).where(EarnRule.code == "course"))
    rule.budget_points = 50
    db.session.commit()
    statuses = [engine.process(engine.Event("course_completed", member, f"c{i}")).rules[0].reason for i in range(3)]
    assert statuses == [None, "budget_exhausted", "budget_exhausted"]


def test_campaign_doubles_points_only_inside_its_period(member):
    db.session.add(Campaign(name="会员日", grade="B", starts_at=at(2026, 8, 8), ends_at=at(2026, 8, 9),
                            multiplier_pct=200, event_types=["purchase"]))
    db.session.commit()
    clock.freeze(at(2026, 8, 8, 12))
    assert purchase(member, "p1", 10_000, "o1").points == 200
    clock.freeze(at(2026, 8, 9, 12))
    assert purchase(member, "p2", 10_000, "o2").points == 100


def test_level_multiplier_applies_where_the_rule_says(member, monkeypatch):
    monkeypatch.setattr(multipliers, "_level_lookup", lambda member_id: ("gold", 120))
    assert purchase(member, "p1", 10_000, "o1").points == 120
    assert engine.process(engine.Event("live_stream_watched", member, "l1")).points == 10


def test_level_restricted_rule(member, monkeypatch):
    rule = db.session.scalar(select(EarnRule).where(EarnRule.code == "live"))
    rule.level_codes = ["gold"]
    db.session.commit()
    assert engine.process(engine.Event("live_stream_watched", member, "l1")).rules[0].reason == "level_not_eligible"
    monkeypatch.setattr(multipliers, "_level_lookup", lambda member_id: ("gold", 100))
    assert engine.process(engine.Event("live_stream_watched", member, "l2")).status == "awarded"


def test_purchase_points_are_pending_for_the_return_window(member):
    clock.freeze(at(2026, 4, 1, 12))
    result = purchase(member, "p1", 12_345, "o1")
    assert (result.points, result.growth) == (123, 123)
    assert balance(member) == (0, 123, 123)
    clock.advance(timedelta(days=7))
    from app.points.queries import account
    assert account(member)["points"]["available"] == 123


def test_refunds_take_back_the_matching_share_cumulatively(member):
    purchase(member, "p1", 10_000, "o1")
    r1 = engine.process(engine.Event("refund", member, "r1", source="pos", attributes={"amount_cents": 3_333, "order_id": "o1"}))
    r2 = engine.process(engine.Event("refund", member, "r2", source="pos", attributes={"amount_cents": 6_667, "order_id": "o1"}))
    assert (r1.points, r2.points) == (-33, -67)
    assert balance(member) == (0, 0, 0)
    r3 = engine.process(engine.Event("refund", member, "r3", source="pos", attributes={"amount_cents": 100, "order_id": "o1"}))
    assert r3.status == "rejected" and r3.rules[0].reason == "already_refunded"
    unknown = engine.process(engine.Event("refund", member, "r4", source="pos", attributes={"amount_cents": 100, "order_id": "nope"}))
    assert unknown.rules[0].reason == "unknown_order"


def test_refund_after_points_became_available_and_were_spent_stops_at_zero(member):
    from app.points import service as ledger

    clock.freeze(at(2026, 4, 1, 12))
    purchase(member, "p1", 20_000, "o1")
    clock.advance(timedelta(days=8))
    ledger.settle_member(member)
    ledger.spend(member, 150, key="gift", reason_code="redeem", reason="兑换")
    result = engine.process(engine.Event("refund", member, "r1", source="pos", attributes={"amount_cents": 20_000, "order_id": "o1"}))
    assert result.points == -50  # only what was left; the 150 already spent stay spent
    assert balance(member) == (0, 0, 0)


def test_unknown_event_types_and_bad_attributes_are_refused(member):
    bad = [engine.Event("teleport", member, "x"),
           engine.Event("purchase", member, "p", attributes={"amount_cents": "100", "order_id": "o"}),
           engine.Event("purchase", member, "p", attributes={"amount_cents": 1.5, "order_id": "o"}),
           engine.Event("purchase", member, "p", attributes={"amount_cents": 100}),
           engine.Event("share", member, "s", occurred_at=clock.now() + timedelta(hours=1))]
    for event in bad:
        with pytest.raises(Unprocessable):
            engine.process(event)
    assert balance(member) == (0, 0, 0)


def test_register_phone_and_profile_rewards_are_paid_once(app, client):
    with app.app_context():
        seed_rules()
    session = login(client, "newbie")
    headers = auth(session)
    login(client, "newbie")
    client.post("/api/v1/me/phone", json={"code": "13700000001.a"}, headers=headers)
    profile = {"nickname": "新人", "avatar_url": "https://img.example.com/a.png", "birthday": "1995-05-05", "region": "北京"}
    client.patch("/api/v1/me", json=profile, headers=headers)
    client.patch("/api/v1/me", json={"nickname": "新人2"}, headers=headers)
    account = client.get("/api/v1/me/account", headers=headers).get_json()
    assert account["points"]["available"] == 100 + 50 + 50
    assert account["growth"] == 50 + 20 + 20


def test_client_actions_count_once_per_target_per_day_and_are_rate_limited(app, client):
    with app.app_context():
        seed_rules()
    headers = auth(login(client, "alice"))
    first = client.post("/api/v1/me/actions", json={"type": "share", "target": "article-1"}, headers=headers)
    again = client.post("/api/v1/me/actions", json={"type": "share", "target": "article-1"}, headers=headers)
    assert first.get_json()["points"] == 5 and again.get_json()["duplicate"] is True
    statuses = [client.post("/api/v1/me/actions", json={"type": "browse", "target": f"p{i}"}, headers=headers).status_code
                for i in range(25)]
    assert 429 in statuses and statuses.index(429) == 18
    assert client.post("/api/v1/me/actions", json={"type": "purchase", "target": "x"}, headers=headers).status_code == 422


def test_operator_sees_why_an_event_earned_nothing(app, client):
    with app.app_context():
        seed_rules()
        member = make_member()
        for i in range(4):
            engine.process(engine.Event("share", member, f"s{i}"))
    headers = operator_headers(app, client, "analyst")
    items = client.get(f"/api/v1/admin/members/{member}/events", headers=headers).get_json()["items"]
    assert items[0]["status"] == "rejected" and items[0]["outcome"][0]["reason"] == "over_daily_cap"


def test_operators_manage_rules_with_validation(app, client):
    headers = operator_headers(app, client, "operator")
    rule = {"code": "webinar", "name": "参加网络研讨会", "event_type": "course_completed", "points": 40, "growth": 10,
            "cap_per_month": 4}
    created = client.post("/api/v1/admin/earn-rules", json=rule, headers=headers)
    assert created.status_code == 201 and created.get_json()["category"] == "participation"
    assert client.post("/api/v1/admin/earn-rules", json=rule, headers=headers).status_code == 409
    for bad in ({**rule, "code": "x1", "event_type": "teleport"}, {**rule, "code": "x2", "points": 0, "growth": 0},
                {**rule, "code": "x3", "points": -1}, {**rule, "code": "x4", "cap_per_day": 0},
                {**rule, "code": "x5", "mode": "per_yuan"}, {**rule, "code": "x6", "points": 1.5},
                {**rule, "code": "x7", "starts_at": "2026-02-01T00:00:00+08:00", "ends_at": "2026-01-01T00:00:00+08:00"}):
        response = client.post("/api/v1/admin/earn-rules", json=bad, headers=headers)
        assert response.status_code == 422, bad
    rule_id = created.get_json()["id"]
    changed = client.put(f"/api/v1/admin/earn-rules/{rule_id}", json={**rule, "points": 60}, headers=headers)
    assert changed.get_json()["points"] == 60
    analyst = operator_headers(app, client, "analyst")
    assert client.post("/api/v1/admin/earn-rules", json={**rule, "code": "y"}, headers=analyst).status_code == 403
    campaign = {"name": "双十一", "grade": "A", "starts_at": "2026-11-11T00:00:00+08:00",
                "ends_at": "2026-11-12T00:00:00+08:00", "multiplier_pct": 300, "event_types": ["purchase"]}
    assert client.post("/api/v1/admin/campaigns", json=campaign, headers=headers).status_code == 201
    assert client.post("/api/v1/admin/campaigns", json={**campaign, "multiplier_pct": 50}, headers=headers).status_code == 422
