"""The lottery: server-side secure draws, published odds, costs and limits, stock never overdrawn."""
from __future__ import annotations

import uuid

from app.points import service as ledger
from tests.support import auth, login, make_item, operator_headers


def draw(client, session):
    return client.post("/api/v1/lottery/draws", headers={**auth(session), "Idempotency-Key": uuid.uuid4().hex})


def test_odds_are_published_and_a_draw_spends_its_cost(app, client):
    op = operator_headers(app, client, "operator")
    client.put("/api/v1/admin/lottery/settings", json={"cost_points": 20, "daily_limit": 3}, headers=op)
    client.post("/api/v1/admin/lottery/prizes", json={"name": "100 积分", "kind": "points", "points": 100, "weight": 1}, headers=op)
    client.post("/api/v1/admin/lottery/prizes", json={"name": "谢谢参与", "kind": "nothing", "weight": 3}, headers=op)
    member = login(client, "alice")
    with app.app_context():
        ledger.earn(member["member"]["id"], 100, key="seed", reason_code="t", reason="t")
    odds = client.get("/api/v1/lottery", headers=auth(member)).get_json()
    assert [p["probability"] for p in odds["prizes"]] == [0.25, 0.75] and odds["cost_points"] == 20
    results = [draw(client, member) for _ in range(4)]
    assert [r.status_code for r in results] == [201, 201, 201, 409]
    won = sum(r.get_json()["prize"]["points"] for r in results[:3])
    assert client.get("/api/v1/me/account", headers=auth(member)).get_json()["points"]["available"] == 100 - 60 + won


def test_an_out_of_stock_prize_is_never_given(app, client):
    op = operator_headers(app, client, "operator")
    with app.app_context():
        item = make_item(total_stock=1, title="公仔")
    client.put("/api/v1/admin/lottery/settings", json={"cost_points": 0, "daily_limit": 50}, headers=op)
    client.post("/api/v1/admin/lottery/prizes", json={"name": "公仔", "kind": "item", "item_id": item, "weight": 1000,
                                                       "stock": 1}, headers=op)
    client.post("/api/v1/admin/lottery/prizes", json={"name": "谢谢参与", "kind": "nothing", "weight": 1}, headers=op)
    member = login(client, "alice")
    prizes = [draw(client, member).get_json()["prize"]["name"] for _ in range(10)]
    assert prizes.count("公仔") == 1
    orders = client.get("/api/v1/me/orders", headers=auth(member)).get_json()["items"]
    assert [o["item_title"] for o in orders] == ["公仔"]


def test_bad_prizes_are_refused(app, client):
    op = operator_headers(app, client, "operator")
    for bad in ({"name": "x", "kind": "points", "weight": 1}, {"name": "x", "kind": "nothing", "weight": 0},
                {"name": "x", "kind": "item", "weight": 1}, {"name": "x", "kind": "gold", "weight": 1}):
        assert client.post("/api/v1/admin/lottery/prizes", json=bad, headers=op).status_code == 422
