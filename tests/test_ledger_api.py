"""The value account over HTTP: members see their own; operators adjust, penalise, reverse, report."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.points import service
from app.points.models import LedgerEntry
from tests.support import login, operator_headers, auth


@pytest.fixture
def alice(client):
    return login(client, "alice")


def test_account_shows_the_brand_name_balances_and_money_value(app, client, alice):
    with app.app_context():
        from app.programme import service as programme
        programme.update({"points_name": "巧乐值", "points_per_yuan": 100})
        service.earn(alice["member"]["id"], 250, growth=40, key="e", reason_code="purchase", reason="消费得积分")
        service.earn(alice["member"]["id"], 70, key="h", reason_code="purchase", reason="消费", hold_days=7)
    body = client.get("/api/v1/me/account", headers=auth(alice)).get_json()
    assert body["points"]["name"] == "巧乐值"
    assert (body["points"]["available"], body["points"]["pending"], body["growth"]) == (250, 70, 40)
    assert body["points"]["money_cents"] == 250
    assert set(body["points"]["expiring"]) == {"amount", "date", "within_30_days"}


def test_ledger_pages_newest_first_with_reasons_and_filters(app, client, alice):
    member = alice["member"]["id"]
    with app.app_context():
        for i in range(5):
            service.earn(member, 10 + i, growth=1, key=f"e{i}", reason_code="checkin", reason="每日签到")
    headers = auth(alice)
    first = client.get("/api/v1/me/ledger?limit=3&currency=points", headers=headers).get_json()
    assert [e["amount"] for e in first["items"]] == [14, 13, 12]
    assert first["items"][0]["reason"] == "每日签到" and first["next_cursor"]
    second = client.get(f"/api/v1/me/ledger?limit=3&currency=points&cursor={first['next_cursor']}", headers=headers).get_json()
    assert [e["amount"] for e in second["items"]] == [11, 10] and second["next_cursor"] is None
    growth = client.get("/api/v1/me/ledger?currency=growth", headers=headers).get_json()
    assert len(growth["items"]) == 5 and all(e["currency"] == "growth" for e in growth["items"])
    for bad in ("cursor=garbage!", "limit=0", "limit=1000", "currency=coins", "kind=gift", "colour=red"):
        response = client.get(f"/api/v1/me/ledger?{bad}", headers=headers)
        assert response.status_code == 422, bad


def test_a_member_never_sees_another_members_entries(app, client, alice):
    bob = login(client, "bob")
    with app.app_context():
        service.earn(bob["member"]["id"], 99, key="b", reason_code="t", reason="bob's")
    assert client.get("/api/v1/me/ledger", headers=auth(alice)).get_json()["items"] == []
    assert client.get("/api/v1/me/account", headers=auth(alice)).get_json()["points"]["available"] == 0
    assert client.get(f"/api/v1/admin/members/{bob['member']['id']}/ledger", headers=auth(alice)).status_code == 401


def test_operator_adjusts_with_a_reason_and_the_entry_keeps_their_id(app, client, alice):
    headers = {**operator_headers(app, client, "operator"), "Idempotency-Key": "adjust-0001"}
    member = alice["member"]["id"]
    response = client.post(f"/api/v1/admin/members/{member}/adjustments", json={"amount": 300, "reason": "客诉补偿"}, headers=headers)
    assert response.status_code == 201, response.get_json()
    again = client.post(f"/api/v1/admin/members/{member}/adjustments", json={"amount": 300, "reason": "客诉补偿"}, headers=headers)
    assert again.status_code == 200 and again.get_json()["replayed"] is True
    ledger = client.get(f"/api/v1/admin/members/{member}/ledger", headers=headers).get_json()["items"]
    assert len(ledger) == 1 and ledger[0]["operator_id"] is not None and ledger[0]["kind"] == "adjust"
    different = client.post(f"/api/v1/admin/members/{member}/adjustments", json={"amount": 301, "reason": "客诉补偿"}, headers=headers)
    assert different.status_code == 422 and different.get_json()["error"]["code"] == "idempotency_key_reused"


def test_penalty_is_its_own_kind_and_cannot_overdraw(app, client, alice):
    headers = operator_headers(app, client, "operator")
    member = alice["member"]["id"]
    with app.app_context():
        service.earn(member, 100, key="e", reason_code="t", reason="t")
    ok = client.post(f"/api/v1/admin/members/{member}/adjustments", json={"amount": 40, "penalty": True, "reason": "刷单处罚"},
                     headers={**headers, "Idempotency-Key": "penalty-001"})
    assert ok.status_code == 201 and ok.get_json()["entries"][0]["kind"] == "penalty"
    too_much = client.post(f"/api/v1/admin/members/{member}/adjustments", json={"amount": -61, "reason": "扣减"},
                           headers={**headers, "Idempotency-Key": "penalty-002"})
    assert too_much.status_code == 409 and too_much.get_json()["error"]["code"] == "insufficient_points"


@pytest.mark.parametrize("body", [
    {"amount": 0, "reason": "原因说明"}, {"amount": 1.5, "reason": "原因说明"}, {"amount": "10", "reason": "原因说明"},
    {"amount": 10**13, "reason": "原因说明"}, {"amount": 10, "currency": "coins", "reason": "原因说明"},
    {"amount": 10}, {"amount": 10, "reason": ""}, {"amount": 10, "reason": "原因说明", "operator_id": 1},
    {"amount": True, "reason": "原因说明"},
])
def test_bad_adjustments_get_a_4xx_and_write_nothing(app, client, alice, body):
    headers = {**operator_headers(app, client, "operator"), "Idempotency-Key": "adjust-bad-1"}
    response = client.post(f"/api/v1/admin/members/{alice['member']['id']}/adjustments", json=body, headers=headers)
    assert 400 <= response.status_code < 500 and "error" in response.get_json()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_adjustment_needs_an_idempotency_key_and_a_known_member(app, client, alice):
    headers = operator_headers(app, client, "operator")
    missing = client.post(f"/api/v1/admin/members/{alice['member']['id']}/adjustments", json={"amount": 5, "reason": "补偿"}, headers=headers)
    assert missing.status_code == 422
    unknown = client.post("/api/v1/admin/members/999999/adjustments", json={"amount": 5, "reason": "补偿"},
                          headers={**headers, "Idempotency-Key": "unknown-member"})
    assert unknown.status_code == 404


def test_analyst_reads_but_cannot_adjust(app, client, alice):
    headers = {**operator_headers(app, client, "analyst"), "Idempotency-Key": "analyst-001"}
    member = alice["member"]["id"]
    assert client.get(f"/api/v1/admin/members/{member}/account", headers=headers).status_code == 200
    response = client.post(f"/api/v1/admin/members/{member}/adjustments", json={"amount": 5, "reason": "补偿"}, headers=headers)
    assert response.status_code == 403


def test_operator_reverses_an_entry(app, client, alice):
    headers = operator_headers(app, client, "operator")
    with app.app_context():
        spent_id = None
        service.earn(alice["member"]["id"], 100, key="e", reason_code="t", reason="t")
        spent_id = service.spend(alice["member"]["id"], 80, key="s", reason_code="redeem", reason="兑换").entries[0].id
    response = client.post(f"/api/v1/admin/ledger/{spent_id}/reversal", json={"reason": "订单取消", "amount": 30},
                           headers={**headers, "Idempotency-Key": "reverse-001"})
    assert response.status_code == 201 and response.get_json()["taken"] == 30
    assert client.get("/api/v1/me/account", headers=auth(alice)).get_json()["points"]["available"] == 50
    missing = client.post("/api/v1/admin/ledger/999999/reversal", json={"reason": "订单取消"},
                          headers={**headers, "Idempotency-Key": "reverse-002"})
    assert missing.status_code == 404


def test_liability_report(app, client, alice):
    headers = operator_headers(app, client, "analyst")
    member = alice["member"]["id"]
    with app.app_context():
        service.earn(member, 1000, key="e1", reason_code="t", reason="t")
        service.earn(member, 500, key="e2", reason_code="t", reason="t", hold_days=7)
        spent = service.spend(member, 400, key="s1", reason_code="redeem", reason="兑换").entries[0].id
        service.reverse(spent, amount=100, key="r1", reason="部分退款")
    body = client.get("/api/v1/admin/liability", headers=headers).get_json()
    assert body["outstanding"] == {"available": 700, "pending": 500, "total": 1200, "money_cents": 1200, "accounts": 1}
    assert (body["period"]["issued"], body["period"]["spent"], body["period"]["expired"]) == (1500, 300, 0)
    assert body["period"]["redemption_rate"] == 0.2 and body["period"]["breakage_rate"] == 0.0
    bad = client.get("/api/v1/admin/liability?start=2026-02-01T00:00:00%2B08:00&end=2026-01-01T00:00:00%2B08:00", headers=headers)
    assert bad.status_code == 422


def test_programme_settings_are_admin_only_and_validated(app, client):
    admin = operator_headers(app, client, "admin")
    operator = operator_headers(app, client, "operator", username="op2")
    assert client.patch("/api/v1/admin/programme", json={"points_name": "乐豆"}, headers=operator).status_code == 403
    assert client.patch("/api/v1/admin/programme", json={"points_per_yuan": 0}, headers=admin).status_code == 422
    assert client.patch("/api/v1/admin/programme", json={"expiry_policy": "weekly"}, headers=admin).status_code == 422
    changed = client.patch("/api/v1/admin/programme", json={"points_name": "乐豆", "points_per_yuan": 10}, headers=admin)
    assert changed.status_code == 200 and changed.get_json()["points_name"] == "乐豆"


def test_operator_login_refuses_bad_passwords(app, client):
    operator_headers(app, client, "admin")
    response = client.post("/api/v1/admin/auth/login", json={"username": "admin-op", "password": "wrong"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "bad_credentials"
