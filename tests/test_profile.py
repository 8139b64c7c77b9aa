"""Profile, phone binding, privacy and account erasure."""
from __future__ import annotations

import io
import logging

from sqlalchemy import select

from app.extensions import db
from app.logging import RedactPersonalData, configure_logging
from app.members.models import Member
from tests.support import auth, login


def test_profile_update_changes_allowed_fields(client):
    headers = auth(login(client))
    body = {"nickname": "小爱", "gender": 2, "birthday": "1992-03-08", "region": "上海",
            "company": "智造", "industry": "制造业", "company_size": "50-199", "job_role": "采购"}
    response = client.patch("/api/v1/me", json=body, headers=headers)
    assert response.status_code == 200
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert {k: me[k] for k in body} == body


def test_unknown_or_internal_fields_are_rejected_and_nothing_changes(client):
    headers = auth(login(client))
    client.patch("/api/v1/me", json={"nickname": "before"}, headers=headers)
    for field in ("points", "level", "phone", "status", "openid", "id", "colour"):
        response = client.patch("/api/v1/me", json={"nickname": "after", field: 1}, headers=headers)
        assert response.status_code == 422, field
        error = response.get_json()["error"]
        assert error["code"] == "validation_error" and field in error["message"]
    assert client.get("/api/v1/me", headers=headers).get_json()["nickname"] == "before"


def test_bad_profile_values_are_422(client):
    headers = auth(login(client))
    for body in ({"gender": 7}, {"birthday": "2999-01-01"}, {"birthday": "yesterday"},
                 {"avatar_url": "javascript:alert(1)"}, {"nickname": "x" * 33}, {"nickname": ""},
                 {"company_size": "huge"}, {"nickname": 12}):
        assert client.patch("/api/v1/me", json=body, headers=headers).status_code == 422, body


def test_birthday_cannot_be_changed_once_set(client):
    headers = auth(login(client))
    assert client.patch("/api/v1/me", json={"birthday": "1990-01-01"}, headers=headers).status_code == 200
    assert client.patch("/api/v1/me", json={"birthday": "1990-01-01"}, headers=headers).status_code == 200
    changed = client.patch("/api/v1/me", json={"birthday": "1990-06-01"}, headers=headers)
    assert changed.status_code == 409 and changed.get_json()["error"]["code"] == "birthday_locked"


def test_phone_binding_through_wechat(client):
    headers = auth(login(client))
    response = client.post("/api/v1/me/phone", json={"code": "13800138000.a"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["phone"] == "13800138000" and response.get_json()["phone_bound"] is True
    reused = client.post("/api/v1/me/phone", json={"code": "13800138000.a"}, headers=headers)
    assert reused.status_code == 400


def test_a_phone_belongs_to_one_member(client):
    alice, bob = auth(login(client, "alice")), auth(login(client, "bob"))
    assert client.post("/api/v1/me/phone", json={"code": "13800138000.a"}, headers=alice).status_code == 200
    taken = client.post("/api/v1/me/phone", json={"code": "13800138000.b"}, headers=bob)
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "phone_taken"
    assert client.get("/api/v1/me", headers=bob).get_json()["phone"] is None


def test_responses_never_carry_session_key_or_openid(client):
    session = login(client)
    text = str(session) + str(client.get("/api/v1/me", headers=auth(session)).get_json())
    assert "session_key" not in text and "openid" not in text


def test_phone_numbers_and_session_keys_never_reach_the_logs(client):
    configure_logging("INFO")  # what create_app installed; pytest's log capture may have swapped root handlers
    output = io.StringIO()
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RedactPersonalData) for f in h.filters))
    previous = handler.setStream(output)
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        headers = auth(login(client))
        client.post("/api/v1/me/phone", json={"code": "13912345678.a"}, headers=headers)
        logging.getLogger("test").info("bound phone %s with session_key=%s", "13912345678", "abcDEF==")
        logging.getLogger("test").info({"purePhoneNumber": "13912345678"})
    finally:
        handler.setStream(previous)
        logging.getLogger().setLevel(root_level)
    written = output.getvalue()
    assert "bound phone" in written
    assert "13912345678" not in written and "abcDEF==" not in written


def test_erasing_an_account_clears_personal_data_and_the_token(client, ctx):
    headers = auth(login(client))
    client.patch("/api/v1/me", json={"nickname": "小爱", "birthday": "1990-01-01", "company": "智造"}, headers=headers)
    client.post("/api/v1/me/phone", json={"code": "13800138000.a"}, headers=headers)
    assert client.delete("/api/v1/me", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    member = db.session.scalar(select(Member))
    assert member.status == "erased"
    assert (member.nickname, member.phone, member.birthday, member.company, member.session_key) == (None,) * 5
    again = login(client)  # the same WeChat user may register anew
    assert again["created"] is True and again["member"]["id"] != member.id


def test_null_for_a_required_profile_field_is_a_422(client):
    headers = auth(login(client))
    response = client.patch("/api/v1/me", json={"gender": None}, headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "validation_error"
