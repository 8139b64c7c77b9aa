"""Segments: tags by hand and by rule, RFM scores, the operator API and the jobs through a real worker."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app import clock
from app.audit.models import AuditEntry
from app.checkin.models import Checkin
from app.earning import engine
from app.errors import NotFound
from app.extensions import db
from app.members.models import Member
from app.points import service as ledger
from app.segments import rfm, service
from app.segments.models import RFM_SEGMENTS, MemberRFM, MemberTag, Tag
from app.segments.schemas import RfmSegmentCode
from tasks.queues import enqueue, make_worker
from tests.support import auth, login, make_member, operator_headers, seed_levels

SHANGHAI = ZoneInfo("Asia/Shanghai")
T = datetime(2026, 6, 30, 12, 0, tzinfo=SHANGHAI)
_events = iter(range(1, 10**6))


def days_ago(n: int) -> datetime:
    return T - timedelta(days=n)


def member_at(n: int, name: str = "m") -> int:
    """A member registered `n` days before T."""
    clock.freeze(days_ago(n))
    member_id = make_member(name)
    clock.freeze(T)
    return member_id


def event(member_id: int, kind: str, n: int, **attributes) -> None:
    """An earning event `n` days before T (the clock moves there: events may not be backdated)."""
    clock.freeze(days_ago(n))
    engine.process(engine.Event(kind, member_id, f"ev-{next(_events)}", source="test", attributes=attributes))
    clock.freeze(T)


def purchase(member_id: int, cents: int, n: int, order: str | None = None) -> None:
    event(member_id, "purchase", n, amount_cents=cents, order_id=order or f"o-{next(_events)}")


def rfm_rows() -> dict[int, tuple]:
    return {r.member_id: (r.recency_days, r.frequency, r.monetary_cents, r.r_score, r.f_score, r.m_score, r.segment)
            for r in db.session.scalars(select(MemberRFM).execution_options(populate_existing=True))}


def members_of(code: str) -> dict[int, str]:
    tag = db.session.scalar(select(Tag).where(Tag.code == code))
    return dict(db.session.execute(select(MemberTag.member_id, MemberTag.source)
                                   .where(MemberTag.tag_id == tag.id)).all())


def rule_tag(code: str, *conditions: dict, active: bool = True) -> None:
    service.create_tag({"code": code, "name": code, "kind": "rule", "rule": {"all": list(conditions)},
                        "active": active})


# ---- RFM

@pytest.fixture
def customers(ctx):
    """Five customers whose recency, frequency and monetary value rank them 1..5 in a known order,
    and members who must get no RFM row at all."""
    a, b, c, d, e, x, y, z = (member_at(400, name) for name in "abcdexyz")
    for day in range(5):
        purchase(a, 10_000, day)                      # R 0 days, F 5, M 50,000
    purchase(b, 40_000, 10)                           # R 10, F 1, M 40,000
    for day, cents in ((40, 4_000), (41, 3_000), (42, 3_000)):
        purchase(e, cents, day)                       # R 40, F 3, M 10,000
    for day in range(100, 104):
        purchase(c, 7_500, day)                       # R 100, F 4, M 30,000 ...
    purchase(c, 9_999, 104, order="c-refunded")
    event(c, "refund", 50, amount_cents=9_999, order_id="c-refunded")  # ... refunded in full; a refund is no activity
    purchase(d, 10_000, 301)
    purchase(d, 12_000, 300, order="d-partial")
    event(d, "refund", 299, amount_cents=2_000, order_id="d-partial")  # R 300, F 2, M 20,000
    purchase(x, 50_000, 400)                          # outside the year: no row
    purchase(z, 50_000, 5)
    db.session.get(Member, z).status = "erased"       # erased: no row
    db.session.commit()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "x": x, "y": y, "z": z}


def test_rfm_scores_and_segments_of_known_customers(customers):
    result = rfm.compute_all()
    m = customers
    assert result["scored"] == 5 and result["removed"] == 0
    assert rfm_rows() == {
        m["a"]: (0, 5, 50_000, 5, 5, 5, "important_value"),
        m["b"]: (10, 1, 40_000, 4, 1, 4, "important_develop"),
        m["c"]: (100, 4, 30_000, 2, 4, 3, "important_keep"),
        m["d"]: (300, 2, 20_000, 1, 2, 2, "general_retain"),
        m["e"]: (40, 3, 10_000, 3, 3, 1, "general_value"),
    }
    assert service.rfm_of(m["x"]) is None and service.rfm_of(m["y"]) is None and service.rfm_of(m["z"]) is None
    assert service.rfm_of(m["a"])["segment_name"] == "重要价值客户"


def test_rfm_run_twice_gives_the_same_table_and_drops_members_whose_year_is_over(customers):
    rfm.compute_all()
    first = rfm_rows()
    again = rfm.compute_all()
    assert rfm_rows() == first and again["scored"] == 5 and again["removed"] == 0
    clock.freeze(T + timedelta(days=70))  # d's last activity is now 370 days old
    later = rfm.compute_all()
    rows = rfm_rows()
    assert later["removed"] == 1 and customers["d"] not in rows and len(rows) == 4
    assert rows[customers["a"]][0] == 70  # recency counts business days from the new today


def test_members_active_without_purchases_score_lowest_on_frequency_and_value(ctx):
    buyer, visitor = member_at(100, "buyer"), member_at(100, "visitor")
    purchase(buyer, 5_000, 20)
    db.session.add(Checkin(member_id=visitor, day=days_ago(1).date(), created_at=days_ago(1)))
    db.session.commit()
    rfm.compute_all()
    assert rfm_rows() == {buyer: (20, 1, 5_000, 1, 5, 5, "important_keep"),
                          visitor: (1, 0, 0, 5, 1, 1, "general_develop")}


def test_the_segment_codes_of_the_model_and_the_api_are_the_same():
    assert set(RfmSegmentCode.__args__) == set(RFM_SEGMENTS) and len(RFM_SEGMENTS) == 8


# ---- rule tags

def test_dormant_days_counts_business_days_of_no_activity(ctx):
    checked_in, bought_40, never, redeemed, edge_30, edge_29 = (member_at(60, n) for n in "abcdef")
    newcomer = member_at(10, "new")
    db.session.add(Checkin(member_id=checked_in, day=days_ago(5).date(), created_at=days_ago(5)))
    db.session.commit()
    purchase(bought_40, 1_000, 40)
    clock.freeze(days_ago(20))
    ledger.earn(redeemed, 100, key="gift", reason_code="t", reason="t")
    ledger.spend(redeemed, 50, key="redeem", reason_code="mall", reason="兑换")
    clock.freeze(T)
    event(edge_30, "login", 30)
    event(edge_29, "login", 29)
    rule_tag("sleepy", {"type": "dormant_days", "days": 30})
    assert set(members_of("sleepy")) == {bought_40, never, edge_30}  # not the newcomer: registered 10 days ago


def test_points_level_profile_and_rfm_conditions_select_the_right_members(ctx):
    seed_levels()
    rich, poor, gold, maker, trader = (member_at(50, n) for n in "abcde")
    ledger.earn(rich, 5_000, key="r", reason_code="t", reason="t")
    ledger.earn(poor, 4_999, key="p", reason_code="t", reason="t")
    ledger.earn(gold, growth=12_000, key="g", reason_code="t", reason="t")  # promoted to gold
    for member_id, industry in ((maker, "制造业"), (trader, "零售")):
        db.session.get(Member, member_id).industry = industry
    db.session.commit()
    purchase(trader, 90_000, 1)
    purchase(trader, 90_000, 2)
    purchase(maker, 100, 200)
    rfm.compute_all()
    rule_tag("rich", {"type": "points_at_least", "points": 5_000})
    rule_tag("golden", {"type": "level_in", "levels": ["gold", "diamond"]})
    rule_tag("plain", {"type": "level_in", "levels": ["registered"]})
    rule_tag("makers", {"type": "attribute_equals", "field": "industry", "value": "制造业"})
    rule_tag("best", {"type": "rfm_segment_in", "segments": ["important_value"]})
    rule_tag("rich_makers", {"type": "points_at_least", "points": 1}, {"type": "attribute_equals",
                                                                        "field": "industry", "value": "制造业"})
    assert set(members_of("rich")) == {rich}
    assert set(members_of("golden")) == {gold}
    assert set(members_of("plain")) == {rich, poor}  # never placed: at the lowest (buyers reached bronze)
    assert set(members_of("makers")) == {maker}
    assert set(members_of("best")) == {trader}
    assert set(members_of("rich_makers")) == set()


def test_refresh_replaces_rule_memberships_but_keeps_pins_and_other_tags(ctx):
    stays, leaves, joins, pinned, erased = (member_at(50, n) for n in "abcde")
    for member_id in (stays, leaves, erased):
        ledger.earn(member_id, 1_000, key=f"e{member_id}", reason_code="t", reason="t")
    operator = _operator()
    rule_tag("hundreds", {"type": "points_at_least", "points": 1_000})
    service.create_tag({"code": "vip", "name": "VIP", "kind": "manual"})
    service.tag_member(leaves, "vip", operator)
    service.tag_member(pinned, "hundreds", operator)  # pinned by hand on a rule tag
    since = db.session.get(MemberTag, (stays, _tag_id("hundreds"))).tagged_at
    assert members_of("hundreds") == {stays: "rule", leaves: "rule", erased: "rule", pinned: "manual"}

    clock.freeze(T + timedelta(hours=1))
    ledger.spend(leaves, 1_000, key="all-gone", reason_code="mall", reason="兑换")
    ledger.earn(joins, 1_000, key="joins", reason_code="t", reason="t")
    db.session.get(Member, erased).status = "erased"
    db.session.commit()
    result = service.refresh("hundreds")

    assert members_of("hundreds") == {stays: "rule", joins: "rule", pinned: "manual"}
    assert (result["added"], result["removed"], result["members"]) == (1, 2, 3)
    assert db.session.get(MemberTag, (stays, _tag_id("hundreds")), populate_existing=True).tagged_at == since
    assert members_of("vip") == {leaves: "manual"}
    assert service.refresh("hundreds")["added"] == 0  # nothing changed: nothing to do


def test_members_in_segment_is_a_subquery_for_targeting(ctx):
    a, b, c = member_at(10, "a"), member_at(10, "b"), member_at(10, "c")
    service.create_tag({"code": "vip", "name": "VIP", "kind": "manual"})
    operator = _operator()
    service.tag_member(a, "vip", operator)
    service.tag_member(b, "vip", operator)
    db.session.get(Member, b).status = "erased"
    purchase(c, 1_000, 1)
    db.session.commit()
    rfm.compute_all()
    targeted = select(Member.id).where(Member.id.in_(service.members_in_segment("vip")))
    assert db.session.scalars(targeted).all() == [a]
    segment = rfm_rows()[c][-1]
    assert db.session.scalars(service.members_in_segment(f"rfm:{segment}")).all() == [c]
    for unknown in ("nope", "rfm:nope"):
        with pytest.raises(NotFound):
            service.members_in_segment(unknown)


def test_hand_tagging_racing_rebuilds_leaves_one_pinned_membership(app):
    """Ten operators tag one member by hand while ten rebuilds of the tag's rule select that member."""
    with app.app_context():
        member_id = make_member("raced")
        ledger.earn(member_id, 1_000, key="raced", reason_code="t", reason="t")
        rule_tag("hundreds", {"type": "points_at_least", "points": 1_000})
        operator = _operator()
        db.session.execute(MemberTag.__table__.delete())  # start with no membership at all
        db.session.commit()
    barrier = threading.Barrier(20)

    def act(i: int):
        with app.app_context():
            barrier.wait()
            try:
                return service.tag_member(member_id, "hundreds", operator) if i % 2 else service.refresh("hundreds")
            except Exception as exc:  # the outcome asserted on
                db.session.rollback()
                return exc
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(act, range(20)))
    assert not [r for r in results if isinstance(r, Exception)], results
    with app.app_context():
        assert members_of("hundreds") == {member_id: "manual"}
        assert service.refresh("hundreds")["members"] == 1


def _operator() -> int:
    from app.operators.service import create

    return create(f"op-{next(_events)}", "correct horse battery", "operator").id


def _tag_id(code: str) -> int:
    return db.session.scalar(select(Tag.id).where(Tag.code == code))


# ---- the operator API

@pytest.fixture
def ops(app, client):
    return operator_headers(app, client, "operator")


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_operators_tag_and_untag_members_by_hand(app, client, ops):
    with app.app_context():
        member_id = make_member("alice")
    created = client.post("/api/v1/admin/tags", json={"code": "key_account", "name": "重点客户", "kind": "manual"},
                          headers=ops)
    assert created.status_code == 201 and created.get_json()["members"] == 0
    first = client.post(f"/api/v1/admin/members/{member_id}/tags/key_account", headers=ops)
    again = client.post(f"/api/v1/admin/members/{member_id}/tags/key_account", headers=ops)
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["source"] == "manual" and first.get_json()["tagged_by"] is not None
    listed = client.get("/api/v1/admin/tags/key_account/members?page=1&per_page=10", headers=ops).get_json()
    assert listed["total"] == 1 and listed["items"][0]["member_id"] == member_id and listed["page"] == 1
    tags = client.get("/api/v1/admin/tags", headers=ops).get_json()["items"]
    assert [(t["code"], t["members"], t["manual_members"]) for t in tags] == [("key_account", 1, 1)]
    segments = client.get(f"/api/v1/admin/members/{member_id}/segments", headers=ops).get_json()
    assert [t["code"] for t in segments["tags"]] == ["key_account"] and segments["rfm"] is None

    assert client.delete(f"/api/v1/admin/members/{member_id}/tags/key_account", headers=ops).status_code == 204
    assert client.delete(f"/api/v1/admin/members/{member_id}/tags/key_account", headers=ops).status_code == 204
    assert client.get("/api/v1/admin/tags/key_account/members", headers=ops).get_json()["total"] == 0


def test_unknown_tags_members_and_bad_bodies_are_refused_and_write_nothing(app, client, ops):
    with app.app_context():
        member_id = make_member("alice")
        seed_levels()
    client.post("/api/v1/admin/tags", json={"code": "vip", "name": "VIP", "kind": "manual"}, headers=ops)

    def refused(response, status, code):
        assert response.status_code == status, response.get_json()
        assert response.get_json()["error"]["code"] == code

    refused(client.post(f"/api/v1/admin/members/{member_id}/tags/nope", headers=ops), 404, "unknown_tag")
    refused(client.post("/api/v1/admin/members/999999/tags/vip", headers=ops), 404, "unknown_member")
    refused(client.delete("/api/v1/admin/members/999999/tags/vip", headers=ops), 404, "unknown_member")
    refused(client.get("/api/v1/admin/members/999999/segments", headers=ops), 404, "unknown_member")
    refused(client.post("/api/v1/admin/tags/nope/refresh", headers=ops), 404, "unknown_tag")
    refused(client.post("/api/v1/admin/tags/vip/refresh", headers=ops), 409, "manual_tag")
    bad_bodies = [
        {"code": "x1", "name": "X", "kind": "manual", "colour": "red"},
        {"code": "x2", "name": "X", "kind": "manual", "rule": {"all": [{"type": "points_at_least", "points": 1}]}},
        {"code": "x3", "name": "X", "kind": "rule"},
        {"code": "x4", "name": "X", "kind": "rule", "rule": {"all": [{"type": "shoe_size", "value": 42}]}},
        {"code": "x5", "name": "X", "kind": "rule", "rule": {"all": [{"type": "dormant_days", "days": 0}]}},
        {"code": "x6", "name": "X", "kind": "rule", "rule": {"all": [{"type": "attribute_equals", "field": "gender",
                                                                       "value": "male"}]}},
        {"code": "x7", "name": "X", "kind": "rule", "rule": {"all": [{"type": "attribute_equals",
                                                                       "field": "openid", "value": "o"}]}},
        {"code": "X Y", "name": "X", "kind": "manual"},
        {"code": "x8", "name": "X", "kind": "rule", "rule": {"all": []}},
    ]
    for body in bad_bodies:
        refused(client.post("/api/v1/admin/tags", json=body, headers=ops), 422, "validation_error")
    refused(client.post("/api/v1/admin/tags", json={"code": "x9", "name": "X", "kind": "rule", "rule": {
        "all": [{"type": "level_in", "levels": ["platinum"]}]}}, headers=ops), 422, "unknown_level")
    refused(client.post("/api/v1/admin/tags", json={"code": "vip", "name": "又一个", "kind": "manual"}, headers=ops),
            409, "tag_exists")
    refused(client.patch("/api/v1/admin/tags/vip", json={"rule": {"all": [{"type": "points_at_least", "points": 1}]}},
                         headers=ops), 422, "manual_tag_has_no_rule")
    refused(client.patch("/api/v1/admin/tags/vip", json={"name": None}, headers=ops), 422, "validation_error")
    with app.app_context():
        assert db.session.scalars(select(Tag.code)).all() == ["vip"]
        assert db.session.get(Tag, _tag_id("vip")).name == "VIP"
        assert _count(MemberTag) == 0


def test_inactive_tags_and_erased_members_cannot_be_tagged(app, client, ops):
    with app.app_context():
        member_id, erased = make_member("alice"), make_member("gone")
        db.session.get(Member, erased).status = "erased"
        db.session.commit()
    client.post("/api/v1/admin/tags", json={"code": "vip", "name": "VIP", "kind": "manual"}, headers=ops)
    client.post("/api/v1/admin/tags", json={"code": "old", "name": "旧", "kind": "manual", "active": False}, headers=ops)
    assert client.post(f"/api/v1/admin/members/{member_id}/tags/old", headers=ops).get_json()["error"]["code"] == \
        "tag_inactive"
    assert client.post(f"/api/v1/admin/members/{erased}/tags/vip", headers=ops).get_json()["error"]["code"] == \
        "member_erased"
    with app.app_context():
        assert _count(MemberTag) == 0


def test_a_rule_tag_is_built_when_created_and_a_rule_membership_cannot_be_removed_by_hand(app, client, ops):
    with app.app_context():
        rich = make_member("rich")
        ledger.earn(rich, 6_000, key="r", reason_code="t", reason="t")
    body = {"code": "rich", "name": "高价值会员", "kind": "rule",
            "rule": {"all": [{"type": "points_at_least", "points": 5_000}]}}
    created = client.post("/api/v1/admin/tags", json=body, headers=ops).get_json()
    assert created["rule_members"] == 1 and created["refreshed_at"] is not None and created["rule"] == body["rule"]
    removed = client.delete(f"/api/v1/admin/members/{rich}/tags/rich", headers=ops)
    assert removed.status_code == 409 and removed.get_json()["error"]["code"] == "tagged_by_rule"
    pinned = client.post(f"/api/v1/admin/members/{rich}/tags/rich", headers=ops)
    assert pinned.status_code == 201 and pinned.get_json()["source"] == "manual"
    changed = client.patch("/api/v1/admin/tags/rich", json={"rule": {"all": [{"type": "points_at_least",
                                                                               "points": 10_000}]}}, headers=ops)
    assert changed.status_code == 200 and (changed.get_json()["manual_members"], changed.get_json()["rule_members"]) \
        == (1, 0)
    refreshed = client.post("/api/v1/admin/tags/rich/refresh", headers=ops)
    assert refreshed.status_code == 200 and refreshed.get_json()["members"] == 1
    with app.app_context():
        audited = db.session.execute(select(AuditEntry.target_table, AuditEntry.change, AuditEntry.action)
                                     .where(AuditEntry.target_table.in_(("tags", "member_tags")))
                                     .order_by(AuditEntry.id)).all()
    assert ("tags", "create", "POST /api/v1/admin/tags") in audited
    assert ("member_tags", "update", f"POST /api/v1/admin/members/{rich}/tags/rich") in audited  # the pin
    assert ("member_tags", "update", "POST /api/v1/admin/tags/rich/refresh") in audited


def test_analysts_read_but_cannot_tag_and_members_are_kept_out(app, client, ops):
    with app.app_context():
        member_id = make_member("bob")
    client.post("/api/v1/admin/tags", json={"code": "vip", "name": "VIP", "kind": "manual"}, headers=ops)
    analyst = operator_headers(app, client, "analyst")
    assert client.get("/api/v1/admin/tags", headers=analyst).status_code == 200
    assert client.get("/api/v1/admin/rfm/summary", headers=analyst).status_code == 200
    for response in (client.post(f"/api/v1/admin/members/{member_id}/tags/vip", headers=analyst),
                     client.post("/api/v1/admin/tags", json={"code": "a", "name": "A", "kind": "manual"},
                                 headers=analyst),
                     client.post("/api/v1/admin/tags/vip/refresh", headers=analyst)):
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "role_forbidden"
    member = auth(login(client, "carol"))
    for method, url in (("get", "/api/v1/admin/tags"), ("post", f"/api/v1/admin/members/{member_id}/tags/vip"),
                        ("get", f"/api/v1/admin/members/{member_id}/segments"), ("get", "/api/v1/admin/rfm/summary")):
        response = getattr(client, method)(url, headers=member)
        assert response.status_code in (401, 403) and "error" in response.get_json()
    assert "tags" not in client.get("/api/v1/me", headers=member).get_json()
    with app.app_context():
        assert _count(MemberTag) == 0 and db.session.scalars(select(Tag.code)).all() == ["vip"]


def test_rfm_summary_counts_every_segment_with_its_name(app, client, ops):
    with app.app_context():
        buyer, _idle = make_member("buyer"), make_member("idle")
        purchase_now(buyer, 8_800)
        rfm.compute_all()
    summary = client.get("/api/v1/admin/rfm/summary", headers=ops).get_json()
    assert (summary["scored_members"], summary["unscored_members"]) == (1, 1)
    assert [s["code"] for s in summary["segments"]] == list(RFM_SEGMENTS)
    assert {s["name"] for s in summary["segments"]} == set(RFM_SEGMENTS.values())
    assert sum(s["members"] for s in summary["segments"]) == 1
    detail = client.get(f"/api/v1/admin/members/{buyer}/segments", headers=ops).get_json()["rfm"]
    assert detail["monetary_cents"] == 8_800 and detail["frequency"] == 1 and detail["segment_name"]


def purchase_now(member_id: int, cents: int) -> None:
    engine.process(engine.Event("purchase", member_id, f"ev-{next(_events)}", source="test",
                                attributes={"amount_cents": cents, "order_id": f"o-{next(_events)}"}))


# ---- seeds and jobs

def test_default_tags_seed_once(ctx):
    seed_levels()
    added = service.seed_tags()
    assert added >= 5 and service.seed_tags() == 0
    names = set(db.session.scalars(select(Tag.name)))
    assert {"沉睡30天", "高价值会员", "重要价值客户"} <= names


def test_the_daily_jobs_run_through_a_real_worker(app):
    with app.app_context():
        seed_levels()
        service.seed_tags()
        buyers = [make_member(f"b{i}") for i in range(3)]
        for i, member_id in enumerate(buyers):
            for _ in range(i + 1):
                purchase_now(member_id, 10_000 * (i + 1))
        enqueue("app.segments.rfm.compute_all", queue_name="maintenance")
    make_worker(app, fork=False).work(burst=True, with_scheduler=False)
    with app.app_context():
        scores = {member_id: row[3:] for member_id, row in rfm_rows().items()}  # all bought today: R ties at 3
        assert [scores[m] for m in buyers] == [(3, 1, 1, "general_develop"), (3, 3, 3, "important_value"),
                                               (3, 5, 5, "important_value")]
        enqueue("app.segments.service.refresh_rule_tags", queue_name="maintenance")
    make_worker(app, fork=False).work(burst=True, with_scheduler=False)
    with app.app_context():
        assert members_of("rfm_important_value") == {buyers[1]: "rule", buyers[2]: "rule"}
        assert db.session.scalar(select(Tag.refreshed_at).where(Tag.code == "dormant_30")) is not None


def test_the_segment_jobs_are_on_the_schedule():
    from config.jobs import SCHEDULE

    jobs = {path: cron for path, cron, _ in SCHEDULE}
    assert "app.segments.rfm.compute_all" in jobs and "app.segments.service.refresh_rule_tags" in jobs
    minute, hour = (int(x) for x in jobs["app.segments.rfm.compute_all"].split()[:2])
    tag_minute, tag_hour = (int(x) for x in jobs["app.segments.service.refresh_rule_tags"].split()[:2])
    assert (hour, minute) < (tag_hour, tag_minute)  # rule tags read the RFM of the same night
