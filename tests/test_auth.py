"""Member login through wechatpy against the WeChat sandbox, and bearer tokens."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.members.models import Member
from tests.support import auth, login


def test_first_login_creates_member_and_second_code_finds_the_same_one(client):
    first = client.post("/api/v1/auth/login", json={"code": "alice.1"}).get_json()
    second = client.post("/api/v1/auth/login", json={"code": "alice.2"}).get_json()
    assert first["created"] is True and second["created"] is False
    assert first["member"]["id"] == second["member"]["id"]
    assert first["token_type"] == "Bearer" and first["token"]


def test_reused_login_code_is_refused_with_a_clear_4xx(client):
    assert client.post("/api/v1/auth/login", json={"code": "alice.1"}).status_code == 200
    again = client.post("/api/v1/auth/login", json={"code": "alice.1"})
    assert again.status_code == 400
    assert again.get_json()["error"]["code"] == "wechat_code_used"


def test_malformed_code_and_blocked_user_are_refused(client):
    bad = client.post("/api/v1/auth/login", json={"code": "no-dot-here"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "wechat_code_invalid"
    blocked = client.post("/api/v1/auth/login", json={"code": "blocked.1"})
    assert blocked.status_code == 403 and blocked.get_json()["error"]["code"] == "wechat_user_blocked"


def test_wechat_unreachable_is_a_502_and_creates_nothing(app, client, sandbox, ctx):
    sandbox.add_fault("jscode2session", errcode=-1, errmsg="system error")
    response = client.post("/api/v1/auth/login", json={"code": "alice.1"})
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "wechat_unavailable"
    assert db.session.scalar(select(func.count()).select_from(Member)) == 0


def test_login_keeps_the_scene_of_first_registration_only(client, ctx):
    login(client, "dave", scene="i=abc123")
    login(client, "dave", scene="i=other")
    member = db.session.scalar(select(Member))
    assert member.register_scene == "i=abc123"


def test_scene_outside_wechat_rules_is_refused(client):
    response = client.post("/api/v1/auth/login", json={"code": "dave.1", "scene": "中文%"})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"


def test_twenty_parallel_first_logins_of_one_person_create_one_member(live_server, app):
    def attempt(i: int) -> int:
        response = requests.post(f"{live_server}/api/v1/auth/login", json={"code": f"carol.{i}"}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["member"]["id"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = set(pool.map(attempt, range(20)))
    assert len(ids) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Member)) == 1


def test_token_gives_access_to_me(client):
    session = login(client, "alice")
    response = client.get("/api/v1/me", headers=auth(session))
    assert response.status_code == 200
    assert response.get_json()["id"] == session["member"]["id"]


def test_missing_or_malformed_authorization_is_401(client):
    assert client.get("/api/v1/me").get_json()["error"]["code"] == "missing_token"
    response = client.get("/api/v1/me", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401


def test_forged_token_is_refused(app, client):
    session = login(client, "alice")
    other_id = session["member"]["id"] + 1
    forged = URLSafeSerializer("guessed-secret", salt="bearer-member").dumps({"sub": other_id, "typ": "member", "exp": 4102444800})
    tampered = session["token"][:-2] + ("AA" if not session["token"].endswith("AA") else "BB")
    for token in (forged, tampered, "not-a-token"):
        response = client.get("/api/v1/me", headers=auth(token))
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "invalid_token"


def test_token_for_another_audience_is_refused(app, client):
    session = login(client, "alice")
    with app.app_context():
        staff_like = URLSafeSerializer(app.config["SECRET_KEY"], salt="bearer-staff").dumps(
            {"sub": session["member"]["id"], "typ": "staff", "exp": 4102444800})
    assert client.get("/api/v1/me", headers=auth(staff_like)).status_code == 401


def test_token_expires(app, client):
    session = login(client, "alice")
    ttl = app.config["SETTINGS"].member_token_ttl_seconds
    clock.freeze(clock.now() + timedelta(seconds=ttl - 60))
    assert client.get("/api/v1/me", headers=auth(session)).status_code == 200
    clock.advance(timedelta(seconds=61))
    response = client.get("/api/v1/me", headers=auth(session))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "token_expired"
