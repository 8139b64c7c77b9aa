"""POST /api/v1/events: signed, idempotent, batched events from the brand's systems."""
from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest

from app import clock
from app.earning import integrations
from tests.support import auth, login, seed_rules


@pytest.fixture
def integration(app):
    with app.app_context():
        seed_rules()
        row, secret = integrations.create("POS 收银系统")
        return row.key_id, secret


def signed(integration, body, *, timestamp=None, nonce=None, sign_body=None):
    key_id, secret = integration
    raw = json.dumps(body).encode()
    stamp = str(int(timestamp if timestamp is not None else clock.now().timestamp()))
    nonce = nonce or secrets.token_hex(8)
    signature = integrations.sign(secret, stamp, nonce, sign_body if sign_body is not None else raw)
    headers = {"X-Integration-Key": key_id, "X-Timestamp": stamp, "X-Nonce": nonce, "X-Signature": signature,
               "Content-Type": "application/json"}
    return raw, headers


def purchase_event(member_id, event_id="evt-1", cents=10_000, order="o-1", **extra):
    return {"event_id": event_id, "type": "purchase", "member": {"id": member_id},
            "occurred_at": clock.now().isoformat(), "attributes": {"amount_cents": cents, "order_id": order}, **extra}


@pytest.fixture
def alice(client):
    return login(client, "alice")


def post(client, integration, body, **kw):
    raw, headers = signed(integration, body, **kw)
    return client.post("/api/v1/events", data=raw, headers=headers)


def test_a_signed_batch_is_processed_and_purchase_points_are_pending(client, integration, alice):
    member = alice["member"]["id"]
    body = {"events": [purchase_event(member), {"event_id": "evt-2", "type": "live_stream_watched",
                                                 "member": {"id": member}, "occurred_at": clock.now().isoformat()}]}
    response = post(client, integration, body)
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [(r["status"], r["points"]) for r in results] == [("awarded", 100), ("awarded", 10)]
    account = client.get("/api/v1/me/account", headers=auth(alice)).get_json()
    assert (account["points"]["available"], account["points"]["pending"]) == (100 + 10, 100)  # register + live


def test_the_same_event_id_again_is_a_duplicate_even_re_signed(client, integration, alice):
    body = {"events": [purchase_event(alice["member"]["id"])]}
    post(client, integration, body)
    again = post(client, integration, body).get_json()["results"][0]
    assert again["duplicate"] is True
    account = client.get("/api/v1/me/account", headers=auth(alice)).get_json()
    assert account["points"]["pending"] == 100


def test_replayed_nonce_and_stale_or_forged_requests_are_refused(client, integration, alice):
    body = {"events": [purchase_event(alice["member"]["id"])]}
    raw, headers = signed(integration, body)
    assert client.post("/api/v1/events", data=raw, headers=headers).status_code == 200
    replay = client.post("/api/v1/events", data=raw, headers=headers)
    assert replay.status_code == 401 and replay.get_json()["error"]["code"] == "replayed_request"
    stale = post(client, integration, {"events": [purchase_event(alice["member"]["id"], "evt-9")]},
                 timestamp=(clock.now() - timedelta(minutes=10)).timestamp())
    assert stale.get_json()["error"]["code"] == "stale_request"
    other_body = json.dumps({"events": [purchase_event(alice["member"]["id"], "evt-10", cents=1)]}).encode()
    forged = post(client, integration, {"events": [purchase_event(alice["member"]["id"], "evt-10", cents=99_999_999)]},
                  sign_body=other_body)
    assert forged.status_code == 401 and forged.get_json()["error"]["code"] == "bad_signature"
    unsigned = client.post("/api/v1/events", json=body)
    assert unsigned.status_code == 401
    account = client.get("/api/v1/me/account", headers=auth(alice)).get_json()
    assert account["points"]["pending"] == 100


@pytest.mark.parametrize("mutate", [
    lambda e: e.update(type="teleport"),
    lambda e: e.update(type="checkin"),
    lambda e: e["attributes"].update(amount_cents="100"),
    lambda e: e["attributes"].update(amount_cents=99.5),
    lambda e: e.update(member={"id": 999_999}),
    lambda e: e.update(member={"phone": "13999999999"}),
    lambda e: e.update(occurred_at="2020-01-01T00:00:00+08:00"),
    lambda e: e.update(colour="red"),
])
def test_bad_events_are_refused_and_nothing_in_the_batch_is_awarded(client, integration, alice, mutate):
    before = client.get("/api/v1/me/account", headers=auth(alice)).get_json()
    good = purchase_event(alice["member"]["id"], "good-1", order="o-good")
    bad = purchase_event(alice["member"]["id"], "bad-1", order="o-bad")
    mutate(bad)
    response = post(client, integration, {"events": [good, bad]})
    assert response.status_code == 422, response.get_json()
    assert client.get("/api/v1/me/account", headers=auth(alice)).get_json() == before


def test_members_can_be_named_by_phone(client, integration, alice):
    client.post("/api/v1/me/phone", json={"code": "13811112222.a"}, headers=auth(alice))
    event = purchase_event(None)
    event["member"] = {"phone": "13811112222"}
    assert post(client, integration, {"events": [event]}).get_json()["results"][0]["points"] == 100


def test_refund_through_the_api_takes_back_pending_points(client, integration, alice):
    member = alice["member"]["id"]
    post(client, integration, {"events": [purchase_event(member)]})
    refund = {"event_id": "refund-1", "type": "refund", "member": {"id": member}, "occurred_at": clock.now().isoformat(),
              "attributes": {"amount_cents": 10_000, "order_id": "o-1"}}
    result = post(client, integration, {"events": [refund]}).get_json()["results"][0]
    assert result["status"] == "reversed" and result["points"] == -100
    account = client.get("/api/v1/me/account", headers=auth(alice)).get_json()
    assert account["points"]["pending"] == 0 and account["growth"] == 50  # the registration growth stays
