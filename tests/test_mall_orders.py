"""The gift mall: browsing with reasons, ordering in one transaction, stock never oversold."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.points import service as ledger
from app.points.models import PointAccount, PointsLot
from app.points.verify import verify
from mall import orders
from mall.models import Item, Order
from tests.support import ADDRESS, auth, login, make_item, make_member, make_store, seed_levels


def give(app, member_id: int, points: int) -> None:
    with app.app_context():
        ledger.earn(member_id, points, key=f"gift-{uuid.uuid4()}", reason_code="t", reason="t")


@pytest.fixture
def alice(app, client):
    session = login(client, "alice")
    give(app, session["member"]["id"], 1_000)
    return session


def order(client, session, body, key=None):
    return client.post("/api/v1/mall/orders", json=body,
                       headers={**auth(session), "Idempotency-Key": key or uuid.uuid4().hex})


def stock(app, item_id: int) -> int:
    with app.app_context():
        return db.session.get(Item, item_id).remaining_stock


def balance(client, session) -> int:
    return client.get("/api/v1/me/account", headers=auth(session)).get_json()["points"]["available"]


def test_pickup_order_spends_points_takes_stock_and_gives_a_pickup_code(app, client, alice):
    with app.app_context():
        store = make_store()
        item = make_item(kind="pickup", store_ids=[store], points_price=300)
    response = order(client, alice, {"item_id": item, "quantity": 2})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "awaiting_pickup" and body["points_total"] == 600
    assert len(body["pickup_code"]) == 13 and body["pickup_code"].isdigit()
    assert balance(client, alice) == 400 and stock(app, item) == 8
    qr = client.get(f"/api/v1/me/orders/{body['order_no']}/pickup-qrcode", headers=auth(alice))
    assert qr.data[:4] == b"\x89PNG"


def test_coupon_codes_go_to_one_order_each(app, client, alice):
    with app.app_context():
        item = make_item(kind="coupon", total_stock=2, points_price=10, coupon_codes=["C-1", "C-2"])
    first = order(client, alice, {"item_id": item}).get_json()
    second = order(client, alice, {"item_id": item}).get_json()
    assert first["status"] == "fulfilled" and {first["coupon_codes"][0], second["coupon_codes"][0]} == {"C-1", "C-2"}
    third = order(client, alice, {"item_id": item})
    assert third.status_code == 409 and third.get_json()["error"]["code"] == "out_of_stock"


def test_same_key_returns_the_first_order_and_a_different_body_is_refused(app, client, alice):
    with app.app_context():
        item = make_item()
    first = order(client, alice, {"item_id": item, "address": ADDRESS}, key="key-000001")
    again = order(client, alice, {"item_id": item, "address": ADDRESS}, key="key-000001")
    assert first.get_json()["order_no"] == again.get_json()["order_no"]
    other = order(client, alice, {"item_id": item, "quantity": 2, "address": ADDRESS}, key="key-000001")
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert balance(client, alice) == 900 and stock(app, item) == 9


def test_browsing_says_why_an_item_cannot_be_redeemed(app, client, alice):
    now = datetime.now(timezone.utc)
    with app.app_context():
        seed_levels()
        ok = make_item(title="可兑换")
        pricey = make_item(title="太贵", points_price=5_000)
        gold = make_item(title="金卡专享", level_codes=["gold"])
        later = make_item(title="未开始", starts_at=now + timedelta(days=1))
        empty = make_item(title="售罄", total_stock=0)
        make_item(title="草稿", status="draft")
    items = {i["title"]: i for i in client.get("/api/v1/mall/items", headers=auth(alice)).get_json()["items"]}
    assert "草稿" not in items
    assert items["可兑换"]["can_redeem"] is True
    assert {t: items[t]["reason"] for t in ("太贵", "金卡专享", "未开始", "售罄")} == {
        "太贵": "insufficient_points", "金卡专享": "level_not_eligible", "未开始": "not_started", "售罄": "out_of_stock"}
    affordable = client.get("/api/v1/mall/items?affordable=true", headers=auth(alice)).get_json()["items"]
    assert "太贵" not in {i["title"] for i in affordable}
    mine = client.get("/api/v1/mall/items?for_my_level=true", headers=auth(alice)).get_json()["items"]
    assert "金卡专享" not in {i["title"] for i in mine}
    detail = client.get(f"/api/v1/mall/items/{gold}", headers=auth(alice)).get_json()
    assert detail["reason_text"] == "当前等级不可兑换"
    assert ok and pricey and later and empty


def test_level_discount_lowers_the_points_price(app, client, alice):
    with app.app_context():
        seed_levels()
        ledger.earn(alice["member"]["id"], growth=10_000, key="to-gold", reason_code="t", reason="t")
        item = make_item(points_price=101)
    assert client.get(f"/api/v1/mall/items/{item}", headers=auth(alice)).get_json()["points_price"] == 96


@pytest.mark.parametrize("mutate, status", [
    (lambda b, ids: b.update(quantity=0), 422),
    (lambda b, ids: b.update(quantity=-1), 422),
    (lambda b, ids: b.update(quantity="1"), 422),
    (lambda b, ids: b.update(item_id=ids["off"]), 422),
    (lambda b, ids: b.update(item_id=ids["over"]), 422),
    (lambda b, ids: b.update(item_id=999_999), 404),
    (lambda b, ids: b.pop("address"), 422),
    (lambda b, ids: b.update(price=1), 422),
])
def test_bad_orders_get_a_4xx_and_change_nothing(app, client, alice, mutate, status):
    with app.app_context():
        ids = {"ok": make_item(), "off": make_item(status="off_sale"),
               "over": make_item(ends_at=datetime.now(timezone.utc) - timedelta(days=1),
                                 starts_at=datetime.now(timezone.utc) - timedelta(days=9))}
    body = {"item_id": ids["ok"], "quantity": 1, "address": ADDRESS}
    mutate(body, ids)
    response = order(client, alice, body)
    assert response.status_code == status, response.get_json()
    assert balance(client, alice) == 1_000
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0
        assert db.session.scalar(select(func.sum(Item.total_stock - Item.remaining_stock))) == 0


def test_missing_idempotency_key_is_refused(app, client, alice):
    with app.app_context():
        item = make_item()
    response = client.post("/api/v1/mall/orders", json={"item_id": item, "address": ADDRESS}, headers=auth(alice))
    assert response.status_code == 422


def test_a_member_cannot_see_or_cancel_another_members_order(app, client, alice):
    with app.app_context():
        item = make_item()
    placed = order(client, alice, {"item_id": item, "address": ADDRESS}).get_json()
    bob = login(client, "bob")
    assert client.get(f"/api/v1/me/orders/{placed['order_no']}", headers=auth(bob)).status_code == 404
    assert client.post(f"/api/v1/me/orders/{placed['order_no']}/cancel", headers=auth(bob)).status_code == 404
    assert client.get("/api/v1/me/orders", headers=auth(bob)).get_json()["items"] == []


def test_cancelling_gives_back_the_same_lots_and_the_stock(app, client, alice):
    with app.app_context():
        item = make_item(points_price=700)
    placed = order(client, alice, {"item_id": item, "address": ADDRESS}).get_json()
    with app.app_context():
        before = db.session.execute(select(PointsLot.id, PointsLot.expires_at)).all()
    cancelled = client.post(f"/api/v1/me/orders/{placed['order_no']}/cancel", headers=auth(alice)).get_json()
    assert cancelled["status"] == "cancelled"
    assert balance(client, alice) == 1_000 and stock(app, item) == 10
    with app.app_context():
        assert db.session.execute(select(PointsLot.id, PointsLot.expires_at)).all() == before
    again = client.post(f"/api/v1/me/orders/{placed['order_no']}/cancel", headers=auth(alice))
    assert again.status_code == 409


def attempt(app, member_id: int, item: int, key: str) -> str:
    """Place one order in its own app context (a thread of its own); "ok" or the refusal's code."""
    with app.app_context():
        try:
            orders.place(member_id, item, 1, key, ADDRESS)
            return "ok"
        except Exception as exc:
            db.session.rollback()
            return getattr(exc, "code", repr(exc))
        finally:
            db.session.remove()


def test_300_members_racing_for_50_items(app):
    with app.app_context():
        item = make_item(total_stock=50, points_price=10)
        members = [make_member(f"racer{i}") for i in range(300)]
        for m in members:
            ledger.earn(m, 10, key=f"seed-{m}", reason_code="t", reason="t")

    with ThreadPoolExecutor(max_workers=25) as pool:
        results = list(pool.map(lambda m: attempt(app, m, item, f"k-{m}"), members))
    assert results.count("ok") == 50 and results.count("out_of_stock") == 250
    with app.app_context():
        assert db.session.get(Item, item).remaining_stock == 0
        assert db.session.scalar(select(func.count()).select_from(Order)) == 50
        assert db.session.scalar(select(func.sum(PointAccount.available))) == 2_500
        assert verify() == []


def test_one_member_racing_20_orders_for_a_limit_of_1_gets_one(app):
    with app.app_context():
        item = make_item(limit_per_member=1, points_price=10)
        member = make_member()
        ledger.earn(member, 1_000, key="seed", reason_code="t", reason="t")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda i: attempt(app, member, item, f"k-{i}"), range(20)))
    assert results.count("ok") == 1 and results.count("over_member_limit") == 19
