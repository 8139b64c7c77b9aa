"""Every error is the JSON envelope, and no input produces a 500."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from tests.support import auth, login

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


def assert_envelope(response, status=None):
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, response.data
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    if status is not None:
        assert response.status_code == status, body


def test_unknown_route_and_wrong_method_are_enveloped(client):
    assert_envelope(client.get("/api/v1/nothing-here"), 404)
    assert_envelope(client.put("/api/v1/auth/login", json={}), 405)


def test_malformed_json_is_a_400(client):
    response = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert_envelope(response, 400)
    assert response.get_json()["error"]["code"] == "malformed_json"


def test_wrong_content_type_and_missing_fields_are_422(client):
    assert_envelope(client.post("/api/v1/auth/login", data="code=alice.1"), 422)
    missing = client.post("/api/v1/auth/login", json={})
    assert_envelope(missing, 422)
    assert "code" in missing.get_json()["error"]["message"]


def test_oversized_body_is_a_413(client):
    response = client.post("/api/v1/auth/login", data=json.dumps({"code": "a" * 400_000}), content_type="application/json")
    assert_envelope(response, 413)


def test_validation_errors_do_not_echo_personal_input(client):
    response = client.post("/api/v1/auth/login", json={"code": "alice.1", "phone": "13800138000"})
    assert_envelope(response, 422)
    assert "13800138000" not in response.get_data(as_text=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON_VALUES)
def test_any_json_to_login_is_handled_without_a_500(client, body):
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code < 500
    if response.status_code >= 400:
        assert_envelope(response)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON_VALUES, raw=st.binary(max_size=64))
def test_any_profile_update_is_handled_without_a_500(client, body, raw):
    headers = auth(login(client, "fuzz"))
    for response in (client.patch("/api/v1/me", json=body, headers=headers),
                     client.patch("/api/v1/me", data=raw, content_type="application/json", headers=headers)):
        assert response.status_code < 500
        if response.status_code >= 400:
            assert_envelope(response)


def test_numbers_past_a_columns_range_are_a_422(app, client):
    from tests.support import operator_headers

    headers = operator_headers(app, client, "admin")
    for url in ("/api/v1/admin/members/99999999999999999999/account", "/api/v1/admin/members/9223372036854775808/ledger"):
        response = client.get(url, headers=headers)
        assert response.status_code in (404, 422) and "error" in response.get_json()
    response = client.post("/api/v1/admin/staff", json={"username": "abc", "password": "long-enough-1",
                                                         "store_ids": [2**40]}, headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "value_out_of_range"
