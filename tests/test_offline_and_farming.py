"""Offline event sign-in, and anti-farming flags resolved by operators."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app import clock
from app.earning import engine
from app.earning.farming import flag_farming
from tests.support import auth, login, make_member, operator_headers, seed_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_offline_event_sign_in_inside_the_window_once(app, client):
    with app.app_context():
        seed_rules()
    op = operator_headers(app, client, "operator")
    event = client.post("/api/v1/admin/offline-events", headers=op, json={
        "title": "上海门店品鉴会", "location": "上海静安", "starts_at": "2026-09-01T14:00:00+08:00",
        "ends_at": "2026-09-01T17:00:00+08:00", "reward_points": 80}).get_json()
    png = client.get(f"/api/v1/admin/offline-events/{event['id']}/qrcode", headers=op)
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    member = auth(login(client, "alice"))
    clock.freeze(datetime(2026, 9, 1, 13, 59, tzinfo=SHANGHAI))
    early = client.post("/api/v1/offline-events/signin", json={"code": event["code"]}, headers=member)
    assert early.status_code == 422 and early.get_json()["error"]["code"] == "outside_signin_window"
    clock.freeze(datetime(2026, 9, 1, 15, tzinfo=SHANGHAI))
    signed = client.post("/api/v1/offline-events/signin", json={"code": event["code"].lower()}, headers=member)
    assert signed.status_code == 201 and signed.get_json()["points"] == 80
    assert client.post("/api/v1/offline-events/signin", json={"code": event["code"]}, headers=member).status_code == 409
    assert client.post("/api/v1/offline-events/signin", json={"code": "NOSUCHCODE"}, headers=member).status_code == 404


def test_bad_offline_event_definitions_are_422(app, client):
    op = operator_headers(app, client, "operator")
    base = {"title": "活动", "starts_at": "2026-09-01T14:00:00+08:00", "ends_at": "2026-09-01T17:00:00+08:00",
            "reward_points": 10}
    for bad in ({**base, "ends_at": "2026-09-01T13:00:00+08:00"}, {**base, "reward_points": 0},
                {**base, "reward_points": -5}, {**base, "starts_at": "2026-09-01T14:00:00"}):
        assert client.post("/api/v1/admin/offline-events", json=bad, headers=op).status_code == 422


def test_a_member_over_a_cap_every_day_for_a_week_is_flagged_and_can_be_penalised(app, client):
    with app.app_context():
        seed_rules()
        farmer, honest = make_member("farmer"), make_member("honest")
        start = datetime(2026, 3, 1, 10, tzinfo=SHANGHAI)
        for day in range(7):
            clock.freeze(start + timedelta(days=day))
            for i in range(5):
                engine.process(engine.Event("share", farmer, f"f{day}-{i}"))
            engine.process(engine.Event("share", honest, f"h{day}"))
        clock.freeze(start + timedelta(days=7))
        assert flag_farming() == 1
        assert flag_farming() == 0  # one open flag per member
    headers = operator_headers(app, client, "operator")
    flags = client.get("/api/v1/admin/flags", headers=headers).get_json()["items"]
    assert [f["member_id"] for f in flags] == [farmer]
    resolved = client.post(f"/api/v1/admin/flags/{flags[0]['id']}/resolve", headers=headers,
                           json={"resolution": "刷分处罚", "penalty_points": 50})
    assert resolved.status_code == 200
    ledger = client.get(f"/api/v1/admin/members/{farmer}/ledger?kind=penalty", headers=headers).get_json()["items"]
    assert [(e["amount"], e["reason"]) for e in ledger] == [(-50, "刷分处罚")]
    assert client.post(f"/api/v1/admin/flags/{flags[0]['id']}/resolve", headers=headers,
                       json={"resolution": "再次处理"}).status_code == 409
