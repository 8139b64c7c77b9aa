"""Segments as targets: a campaign's multiplier and announcement, mall items, automations."""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from app import clock
from app.earning import engine
from app.earning.models import Campaign
from app.extensions import db
from app.members.models import Member
from app.points import service as ledger
from app.points.models import PointAccount
from app.segments import service as segments
from app.segments.models import MemberRFM
from mall.models import Item, Order
from tasks import campaigns
from tasks.models import Automation
from tests.support import auth, login, make_item, make_member, operator_headers, seed_rules
from tests.test_jobs import member, programme, sends, work  # noqa: F401 (programme is a fixture)

SHANGHAI = ZoneInfo("Asia/Shanghai")
_keys = itertools.count(1)


def at(*parts) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


def tag(code: str, *member_ids: int) -> None:
    """A manual tag `code` on these members (inside an app context)."""
    from app.operators.service import create

    segments.create_tag({"code": code, "name": code, "kind": "manual"})
    operator = create(f"op-{next(_keys)}", "correct horse battery", "operator").id
    for member_id in member_ids:
        segments.tag_member(member_id, code, operator)


def score(member_id: int, segment: str) -> None:
    """An RFM row putting the member in `segment` (as the nightly job would)."""
    db.session.add(MemberRFM(member_id=member_id, recency_days=1, frequency=3, monetary_cents=30_000, r_score=5,
                             f_score=5, m_score=5, segment=segment, computed_at=clock.now()))
    db.session.commit()


def purchase(member_id: int, cents: int = 10_000) -> engine.EventResult:
    n = next(_keys)
    return engine.process(engine.Event("purchase", member_id, f"p{n}", source="pos",
                                       attributes={"amount_cents": cents, "order_id": f"o{n}"}))


def campaign(name: str, pct: int, segment: str | None = None) -> None:
    db.session.add(Campaign(name=name, starts_at=at(2026, 8, 8), ends_at=at(2026, 8, 9), multiplier_pct=pct,
                            event_types=["purchase"], segment=segment))
    db.session.commit()


# ---- campaigns

def test_a_campaign_for_a_segment_multiplies_only_its_members_points(ctx):
    seed_rules()
    insider, outsider, scored = make_member("in"), make_member("out"), make_member("rfm")
    tag("vip", insider)
    score(scored, "important_value")
    campaign("会员日", 200)
    campaign("VIP 5 倍", 500, segment="vip")
    campaign("重要价值 3 倍", 300, segment="rfm:important_value")
    clock.freeze(at(2026, 8, 8, 12))
    results = {m: purchase(m) for m in (insider, outsider, scored)}
    assert {m: r.points for m, r in results.items()} == {insider: 500, outsider: 200, scored: 300}
    assert results[insider].rules[0].campaign == "VIP 5 倍"
    assert results[outsider].rules[0].campaign == "会员日"


def test_segment_membership_is_asked_only_when_a_segment_campaign_could_apply(ctx):
    seed_rules()
    member_id = make_member()
    tag("vip", member_id)
    campaign("会员日", 300)
    campaign("VIP 加倍", 200, segment="vip")  # lower than what everyone gets: never worth asking
    statements = []

    def seen(conn, cursor, statement, *_):
        statements.append(statement)

    clock.freeze(at(2026, 8, 8, 12))
    purchase(member_id)  # warms the snapshots
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert purchase(member_id).points == 300
        clock.freeze(at(2026, 8, 10, 12))  # no campaign at all
        assert purchase(member_id).points == 100
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert not [s for s in statements if "member_tags" in s or "member_rfm" in s]


def test_a_campaign_announcement_reaches_only_the_segments_members(app, client, sandbox, programme):
    clock.freeze(at(2026, 10, 1, 10, 0))
    alice = member(client, "alice", grants=("tmpl-campaign",))
    member(client, "bob", grants=("tmpl-campaign",))
    with app.app_context():
        tag("vip", alice["member"]["id"])
    ops = operator_headers(app, client)
    created = client.post("/api/v1/admin/campaigns", headers=ops, json={
        "name": "VIP 专享 3 倍", "starts_at": "2026-10-01T00:00:00+08:00", "ends_at": "2026-10-08T00:00:00+08:00",
        "multiplier_pct": 300, "message": "VIP 七天消费积分 3 倍", "segment": "vip"})
    assert created.status_code == 201 and created.get_json()["segment"] == "vip"
    with app.app_context():
        assert campaigns.run_campaign_announcements() == {"VIP 专享 3 倍": 1}
        openid = db.session.get(Member, alice["member"]["id"]).openid
    work(app)
    [push] = sends(sandbox, "tmpl-campaign")
    assert push["body"]["touser"] == openid


def test_an_automation_for_a_segment_pushes_only_to_its_members(app, client, sandbox, programme):
    alice = member(client, "alice", grants=("tmpl-level-up",))
    bob = member(client, "bob", grants=("tmpl-level-up",))
    with app.app_context():
        tag("vip", alice["member"]["id"])
    ops = operator_headers(app, client)
    switched = client.put("/api/v1/admin/automations/level_up", json={"active": True, "segment": "vip"}, headers=ops)
    assert switched.get_json() == {"code": "level_up", "active": True, "segment": "vip"}
    # switching it off and on again keeps its segment
    client.put("/api/v1/admin/automations/level_up", json={"active": False}, headers=ops)
    client.put("/api/v1/admin/automations/level_up", json={"active": True}, headers=ops)
    with app.app_context():
        for session in (alice, bob):
            ledger.earn(session["member"]["id"], growth=2_000, key=f"g{session['member']['id']}", reason_code="t",
                        reason="t")
        openid = db.session.get(Member, alice["member"]["id"]).openid
    work(app)
    assert [p["body"]["touser"] for p in sends(sandbox, "tmpl-level-up")] == [openid]


# ---- the mall

def give(app, session, points: int = 1_000) -> None:
    with app.app_context():
        ledger.earn(session["member"]["id"], points, key=f"gift-{uuid.uuid4()}", reason_code="t", reason="t")


def order(client, session, item_id: int):
    return client.post("/api/v1/mall/orders", json={"item_id": item_id, "quantity": 1},
                       headers={**auth(session), "Idempotency-Key": uuid.uuid4().hex})


@pytest.fixture
def shop(app, client):
    """alice is tagged vip, carol is scored important_value, bob is in neither; each has 1,000 points."""
    people = {name: login(client, name) for name in ("alice", "bob", "carol")}
    for session in people.values():
        give(app, session)
    with app.app_context():
        tag("vip", people["alice"]["member"]["id"])
        score(people["carol"]["member"]["id"], "important_value")
        items = {"open": make_item(kind="voucher", title="大家的"),
                 "vip": make_item(kind="voucher", title="VIP 专享", segment="vip"),
                 "rfm": make_item(kind="voucher", title="重要价值专享", segment="rfm:important_value")}
    return people, items


def titles(client, session) -> set[str]:
    response = client.get("/api/v1/mall/items", headers=auth(session)).get_json()
    assert response["total"] == len(response["items"])
    return {i["title"] for i in response["items"]}


def test_a_restricted_item_is_listed_only_for_its_segments_members(client, shop):
    people, items = shop
    assert titles(client, people["alice"]) == {"大家的", "VIP 专享"}
    assert titles(client, people["carol"]) == {"大家的", "重要价值专享"}
    assert titles(client, people["bob"]) == {"大家的"}
    detail = client.get(f"/api/v1/mall/items/{items['vip']}", headers=auth(people["bob"])).get_json()
    assert (detail["can_redeem"], detail["reason"]) == (False, "not_in_segment")
    assert "segment" not in detail  # members never see segments
    assert client.get(f"/api/v1/mall/items/{items['vip']}", headers=auth(people["alice"])).get_json()["can_redeem"]


def test_a_restricted_item_is_refused_to_outsiders_and_changes_nothing(app, client, shop):
    people, items = shop
    for who, item in (("bob", "vip"), ("bob", "rfm"), ("alice", "rfm"), ("carol", "vip")):
        response = order(client, people[who], items[item])
        assert response.status_code == 422 and response.get_json()["error"]["code"] == "not_in_segment", (who, item)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0
        assert {i.remaining_stock for i in db.session.scalars(select(Item))} == {10}
        assert {a.available for a in db.session.scalars(select(PointAccount))} == {1_000}


def test_a_restricted_item_can_be_ordered_by_its_segments_members(app, client, shop):
    people, items = shop
    assert order(client, people["alice"], items["vip"]).status_code == 201
    assert order(client, people["carol"], items["rfm"]).status_code == 201
    assert order(client, people["bob"], items["open"]).status_code == 201
    with app.app_context():
        assert db.session.get(Item, items["vip"]).remaining_stock == 9


def test_an_erased_member_is_in_no_segment(ctx):
    member_id = make_member()
    tag("vip", member_id)
    assert segments.is_member(member_id, "vip")
    db.session.get(Member, member_id).status = "erased"
    db.session.commit()
    assert not segments.is_member(member_id, "vip")
    assert not segments.is_member(member_id, "nope") and not segments.is_member(member_id, "rfm:nope")


# ---- operators' input

def test_an_unknown_segment_is_refused_and_nothing_is_saved(app, client, programme):
    ops = operator_headers(app, client)
    with app.app_context():
        item_id = make_item(title="原样")
    campaign_body = {"name": "x", "starts_at": "2026-10-01T00:00:00+08:00", "ends_at": "2026-10-08T00:00:00+08:00",
                     "multiplier_pct": 200}
    item_body = {"sku": "NEW1", "kind": "delivery", "category": "gifts", "title": "新品", "points_price": 10,
                 "total_stock": 5, "status": "on_sale"}
    for segment in ("nope", "rfm:nope"):
        for method, url, body in (
                ("post", "/api/v1/admin/campaigns", campaign_body),
                ("post", "/api/v1/admin/mall/items", item_body),
                ("put", f"/api/v1/admin/mall/items/{item_id}", {**item_body, "title": "改了"}),
                ("put", "/api/v1/admin/automations/level_up", {"active": False})):
            response = getattr(client, method)(url, json={**body, "segment": segment}, headers=ops)
            assert response.status_code == 404, (url, response.get_json())
            assert response.get_json()["error"]["code"] == "unknown_segment"
    assert client.post("/api/v1/admin/campaigns", json={**campaign_body, "segment": ""},
                       headers=ops).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0
        assert [(i.title, i.segment) for i in db.session.scalars(select(Item))] == [("原样", None)]
        automation = db.session.get(Automation, "level_up")
        assert (automation.active, automation.segment) == (True, None)
