"""The counter: two-step pickup verification by store staff, and in-store points by member code."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.points import service as ledger
from app.staff.models import StaffAction
from tests.support import auth, login, make_item, make_store, seed_rules, staff_headers


@pytest.fixture
def shop(app, client):
    with app.app_context():
        seed_rules()
        here, there = make_store("SH01"), make_store("HZ01")
        item = make_item(kind="pickup", store_ids=[here], points_price=100)
    member = login(client, "alice")
    with app.app_context():
        ledger.earn(member["member"]["id"], 1_000, key="seed", reason_code="t", reason="t")
        client.patch("/api/v1/me", json={"nickname": "爱丽丝"}, headers=auth(member))
    placed = client.post("/api/v1/mall/orders", json={"item_id": item},
                         headers={**auth(member), "Idempotency-Key": uuid.uuid4().hex}).get_json()
    return {"here": here, "there": there, "item": item, "member": member, "order": placed}


def test_two_step_verification(app, client, shop):
    clerk = staff_headers(app, client, [shop["here"]])
    code = shop["order"]["pickup_code"]
    preview = client.post("/api/v1/staff/verifications/preview", json={"code": code, "store_id": shop["here"]}, headers=clerk)
    body = preview.get_json()
    assert preview.status_code == 200 and body["can_confirm"] and body["member"] == "爱**" and body["item"] == "保温杯"
    confirm = client.post("/api/v1/staff/verifications/confirm", json={"code": code, "store_id": shop["here"]}, headers=clerk)
    assert confirm.status_code == 200 and confirm.get_json()["status"] == "fulfilled"
    again = client.post("/api/v1/staff/verifications/confirm", json={"code": code, "store_id": shop["here"]}, headers=clerk)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_fulfilled"
    with app.app_context():
        actions = db.session.scalars(select(StaffAction.action).order_by(StaffAction.id)).all()
    assert actions == ["pickup_preview", "pickup_confirm"]


def test_a_clerk_of_another_store_cannot_verify(app, client, shop):
    other = staff_headers(app, client, [shop["there"]], username="hz-clerk")
    code = shop["order"]["pickup_code"]
    for store in (shop["here"], shop["there"]):
        response = client.post("/api/v1/staff/verifications/confirm", json={"code": code, "store_id": store}, headers=other)
        assert response.status_code == 403
    assert client.get(f"/api/v1/me/orders/{shop['order']['order_no']}", headers=auth(shop["member"])).get_json()["status"] == "awaiting_pickup"


def test_expired_or_unknown_codes_are_refused(app, client, shop):
    clock.freeze(clock.now() + timedelta(days=31))
    clerk = staff_headers(app, client, [shop["here"]])
    expired = client.post("/api/v1/staff/verifications/confirm",
                          json={"code": shop["order"]["pickup_code"], "store_id": shop["here"]}, headers=clerk)
    assert expired.status_code == 409 and expired.get_json()["error"]["code"] == "pickup_code_expired"
    unknown = client.post("/api/v1/staff/verifications/confirm", json={"code": "0000000000000", "store_id": shop["here"]},
                          headers=clerk)
    assert unknown.status_code == 404


def test_two_clerks_confirming_one_code_give_one_fulfilment(app, client, live_server, shop):
    first = staff_headers(app, client, [shop["here"]], username="clerk-a")
    second = staff_headers(app, client, [shop["here"]], username="clerk-b")
    code = shop["order"]["pickup_code"]

    def confirm(headers):
        return requests.post(f"{live_server}/api/v1/staff/verifications/confirm", headers=headers,
                             json={"code": code, "store_id": shop["here"]}, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(confirm, [first, second] * 4))
    assert statuses.count(200) == 1 and statuses.count(409) == 7


def test_in_store_purchase_points_by_member_code(app, client, shop):
    clerk = staff_headers(app, client, [shop["here"]])
    member = shop["member"]
    code = client.get("/api/v1/me/member-code", headers=auth(member)).get_json()["code"]
    body = {"member_code": code, "store_id": shop["here"], "amount_cents": 25_800, "receipt_no": "R-001"}
    headers = {**clerk, "Idempotency-Key": "award-000001"}
    first = client.post("/api/v1/staff/points/award", json=body, headers=headers)
    assert first.status_code == 201 and first.get_json()["points"] == 258
    retry = client.post("/api/v1/staff/points/award", json=body, headers=headers)
    assert retry.get_json() == first.get_json()
    reuse = client.post("/api/v1/staff/points/award", json={**body, "receipt_no": "R-002"},
                        headers={**clerk, "Idempotency-Key": "award-000002"})
    assert reuse.status_code == 422 and reuse.get_json()["error"]["code"] == "member_code_invalid"
    account = client.get("/api/v1/me/account", headers=auth(member)).get_json()
    assert account["points"]["pending"] == 258
    today = client.get(f"/api/v1/staff/stores/{shop['here']}/today", headers=clerk).get_json()
    assert today["awards"] == 1 and today["points_awarded"] == 258


def test_an_old_member_code_is_refused(app, client, shop):
    clerk = staff_headers(app, client, [shop["here"]])
    member = shop["member"]
    old = client.get("/api/v1/me/member-code", headers=auth(member)).get_json()["code"]
    client.get("/api/v1/me/member-code", headers=auth(member))
    response = client.post("/api/v1/staff/points/deduct", json={"member_code": old, "store_id": shop["here"],
                                                                "points": 100, "bill_cents": 10_000},
                           headers={**clerk, "Idempotency-Key": "deduct-00001"})
    assert response.status_code == 422


def test_points_deduction_within_the_ratio(app, client, shop):
    clerk = staff_headers(app, client, [shop["here"]])
    member = shop["member"]

    def deduct(points, bill, key):
        code = client.get("/api/v1/me/member-code", headers=auth(member)).get_json()["code"]
        return client.post("/api/v1/staff/points/deduct", json={"member_code": code, "store_id": shop["here"],
                                                                "points": points, "bill_cents": bill},
                           headers={**clerk, "Idempotency-Key": key})

    over = deduct(600, 1_000, "deduct-over-1")
    assert over.status_code == 422 and over.get_json()["error"]["code"] == "over_deduction_ratio"
    ok = deduct(500, 1_000, "deduct-ok-001")
    assert ok.status_code == 201 and ok.get_json()["money_cents"] == 500
    assert client.get("/api/v1/me/account", headers=auth(member)).get_json()["points"]["available"] == 1_000 + 100 - 100 - 500  # + register, - order


def test_a_clerk_cannot_award_at_another_store(app, client, shop):
    clerk = staff_headers(app, client, [shop["there"]])
    code = client.get("/api/v1/me/member-code", headers=auth(shop["member"])).get_json()["code"]
    response = client.post("/api/v1/staff/points/award", json={"member_code": code, "store_id": shop["here"],
                                                               "amount_cents": 100, "receipt_no": "R-9"},
                           headers={**clerk, "Idempotency-Key": "award-elsewhere"})
    assert response.status_code == 403


def test_staff_login_and_tokens(app, client, shop):
    staff_headers(app, client, [shop["here"]])
    assert client.post("/api/v1/staff/auth/login", json={"username": "clerk", "password": "nope"}).status_code == 401
    member_token = auth(shop["member"])
    assert client.post("/api/v1/staff/verifications/preview", json={"code": "0000000000000", "store_id": shop["here"]},
                       headers=member_token).status_code == 401


def test_the_same_award_raced_with_two_member_codes_awards_once(app, client, live_server, shop):
    clerk = staff_headers(app, client, [shop["here"]])
    member = shop["member"]
    bob = login(client, "bob")
    codes = [client.get("/api/v1/me/member-code", headers=auth(member)).get_json()["code"],
             client.get("/api/v1/me/member-code", headers=auth(bob)).get_json()["code"]]

    def award(code):
        return requests.post(f"{live_server}/api/v1/staff/points/award", timeout=30,
                             headers={**clerk, "Idempotency-Key": "award-race-01"},
                             json={"member_code": code, "store_id": shop["here"], "amount_cents": 10_000,
                                   "receipt_no": "R-RACE"})

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(award, codes))
    assert all(a.status_code in (201, 422) for a in answers), [a.text for a in answers]
    with app.app_context():
        awards = db.session.scalars(select(StaffAction).where(StaffAction.action == "points_award")).all()
        assert len(awards) == 1
