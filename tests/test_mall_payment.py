"""Points + cash orders through WeChat Pay in the sandbox: verified notifications, timeouts."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from app import clock
from app.extensions import db
from app.points import service as ledger
from mall import orders
from mall.models import Item
from tests.support import auth, login, make_item, make_store


@pytest.fixture
def cash_item(app):
    with app.app_context():
        store = make_store()
        return make_item(kind="pickup", store_ids=[store], points_price=200, cash_price_cents=9_900, total_stock=5)


@pytest.fixture
def alice(app, client):
    session = login(client, "alice")
    with app.app_context():
        ledger.earn(session["member"]["id"], 1_000, key="seed", reason_code="t", reason="t")
    return session


def place(client, session, item):
    response = client.post("/api/v1/mall/orders", json={"item_id": item},
                           headers={**auth(session), "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def account(client, session):
    return client.get("/api/v1/me/account", headers=auth(session)).get_json()["points"]["available"]


def stock(app, item):
    with app.app_context():
        return db.session.get(Item, item).remaining_stock


def test_points_and_cash_order_completes_on_a_verified_notification(app, client, live_server, sandbox, cash_item, alice):
    app.config["PAYMENT_NOTIFY_BASE"] = live_server
    try:
        placed = place(client, alice, cash_item)
        assert placed["status"] == "awaiting_payment" and placed["payment"]["package"].startswith("prepay_id=")
        assert account(client, alice) == 800 and stock(app, cash_item) == 4
        delivered = sandbox.pay(placed["order_no"])
        assert delivered["acknowledged"] is True, delivered
        paid = client.get(f"/api/v1/me/orders/{placed['order_no']}", headers=auth(alice)).get_json()
        assert paid["status"] == "awaiting_pickup" and len(paid["pickup_code"]) == 13
        again = sandbox.resend_notification(placed["order_no"])
        assert again["acknowledged"] is True
        assert client.get(f"/api/v1/me/orders/{placed['order_no']}", headers=auth(alice)).get_json()["status"] == "awaiting_pickup"
    finally:
        app.config.pop("PAYMENT_NOTIFY_BASE", None)


def test_forged_or_tampered_notifications_change_nothing(app, client, sandbox, cash_item, alice):
    placed = place(client, alice, cash_item)
    genuine = sandbox.pay(placed["order_no"], deliver=False)
    xml = genuine["xml"] if isinstance(genuine, dict) else genuine
    tampered = xml.replace("<total_fee>9900</total_fee>", "<total_fee>1</total_fee>")
    for body in (tampered, "<xml><return_code>SUCCESS</return_code></xml>", "not xml at all", ""):
        response = client.post("/api/v1/payments/wechat/notify", data=body, content_type="text/xml")
        assert response.status_code == 400 and b"FAIL" in response.data
    assert client.get(f"/api/v1/me/orders/{placed['order_no']}", headers=auth(alice)).get_json()["status"] == "awaiting_payment"
    ok = client.post("/api/v1/payments/wechat/notify", data=xml, content_type="text/xml")
    replay = client.post("/api/v1/payments/wechat/notify", data=xml, content_type="text/xml")
    assert ok.status_code == 200 and replay.status_code == 200 and b"SUCCESS" in replay.data
    with app.app_context():
        from app.points.models import LedgerEntry
        from sqlalchemy import func, select
        assert db.session.scalar(select(func.count()).where(LedgerEntry.kind == "spend")) == 1


def test_an_unpaid_order_times_out_and_returns_points_and_stock(app, client, sandbox, cash_item, alice):
    placed = place(client, alice, cash_item)
    clock.freeze(clock.now() + timedelta(minutes=16))
    with app.app_context():
        assert orders.expire_unpaid() == 1
    clock.unfreeze()
    assert account(client, alice) == 1_000 and stock(app, cash_item) == 5
    status = client.get(f"/api/v1/me/orders/{placed['order_no']}", headers=auth(alice)).get_json()["status"]
    assert status == "cancelled"
    state = [o for o in sandbox.pay_order_summaries() if o["out_trade_no"] == placed["order_no"]]
    assert state and state[0]["trade_state"] == "CLOSED"


def test_cancelling_a_paid_order_refunds_the_cash(app, client, sandbox, cash_item, alice):
    placed = place(client, alice, cash_item)
    xml = sandbox.pay(placed["order_no"], deliver=False)
    xml = xml["xml"] if isinstance(xml, dict) else xml
    client.post("/api/v1/payments/wechat/notify", data=xml, content_type="text/xml")
    refunded = client.post(f"/api/v1/me/orders/{placed['order_no']}/cancel", headers=auth(alice)).get_json()
    assert refunded["status"] == "refunded" and account(client, alice) == 1_000
    state = [o for o in sandbox.pay_order_summaries() if o["out_trade_no"] == placed["order_no"]]
    assert state[0]["trade_state"] == "REFUND"


def test_wechat_pay_down_returns_the_points(app, client, sandbox, cash_item, alice):
    sandbox.add_fault("pay_unifiedorder", errcode=0, errmsg="SYSTEMERROR")
    response = client.post("/api/v1/mall/orders", json={"item_id": cash_item},
                           headers={**auth(alice), "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 502 and response.get_json()["error"]["code"] == "payment_unavailable"
    assert account(client, alice) == 1_000 and stock(app, cash_item) == 5
