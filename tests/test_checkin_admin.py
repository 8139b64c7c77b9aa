"""Operators set the check-in table (API and console); members see it at once and are paid by it."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEntry
from app.checkin.models import CheckinSettings
from app.extensions import db
from tests.support import auth, login, operator_headers, seed_rules
from tests.test_console import sign_in, token_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "/api/v1/admin/checkin/settings"
DEMO = {"cycle_rewards": [5, 5, 10, 10, 15, 15, 50], "monthly_rewards": {"10": 20, "20": 50, "28": 100},
        "makeups_per_month": 2, "makeup_cost_points": 20}
NEW = {"cycle_rewards": [7, 8, 9], "monthly_rewards": {"2": 30, "1": 3}, "makeups_per_month": 1,
       "makeup_cost_points": 0}


@pytest.fixture
def member(app, client):
    with app.app_context():
        seed_rules()
    clock.freeze(datetime(2026, 6, 1, 9, tzinfo=SHANGHAI))
    return login(client, "checker")


def available(client, member) -> int:
    return client.get("/api/v1/me/account", headers=auth(member)).get_json()["points"]["available"]


def audited(app) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEntry).where(AuditEntry.target_table == "checkin_settings")))
        db.session.expunge_all()
        return rows


def stored(app) -> dict:
    with app.app_context():
        row = db.session.get(CheckinSettings, 1)
        return {"cycle_rewards": row.cycle_rewards, "monthly_rewards": row.monthly_rewards,
                "makeups_per_month": row.makeups_per_month, "makeup_cost_points": row.makeup_cost_points}


def test_a_new_cycle_is_what_members_see_and_earn_at_once(app, client, member):
    ops = operator_headers(app, client, "operator")
    before = available(client, member)
    calendar = client.get("/api/v1/checkins", headers=auth(member)).get_json()
    assert (calendar["today_reward"], calendar["tomorrow_reward"]) == (5, 5)
    current = client.get(URL, headers=ops)
    assert current.status_code == 200 and {k: current.get_json()[k] for k in DEMO} == DEMO

    saved = client.put(URL, json=NEW, headers=ops)
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["monthly_rewards"] == {"1": 3, "2": 30}

    calendar = client.get("/api/v1/checkins", headers=auth(member)).get_json()  # no wait for the snapshot's TTL
    assert (calendar["today_reward"], calendar["tomorrow_reward"]) == (7, 8)
    assert calendar["cycle_rewards"] == [7, 8, 9] and calendar["makeups_left"] == 1
    assert [m["days"] for m in calendar["monthly_rewards"]] == [1, 2]
    first = client.post("/api/v1/checkins", headers=auth(member)).get_json()
    assert (first["points"], first["monthly_bonus"]) == (7, 3)
    clock.advance(timedelta(days=1))
    second = client.post("/api/v1/checkins", headers=auth(member)).get_json()
    assert (second["points"], second["monthly_bonus"]) == (8, 30)
    assert available(client, member) - before == 7 + 3 + 8 + 30

    [entry] = audited(app)
    assert entry.change == "update" and entry.action == f"PUT {URL}"
    assert entry.before["cycle_rewards"] == DEMO["cycle_rewards"] and entry.after["cycle_rewards"] == [7, 8, 9]


def test_the_settings_row_is_made_on_first_read(app, client):
    ops = operator_headers(app, client)
    assert client.get(URL, headers=ops).get_json()["cycle_rewards"] == DEMO["cycle_rewards"]
    assert client.put(URL, json=NEW, headers=ops).status_code == 200
    assert stored(app)["cycle_rewards"] == [7, 8, 9]


@pytest.mark.parametrize("change", [
    {"cycle_rewards": []}, {"cycle_rewards": [5, 5.0]}, {"cycle_rewards": [5, 5.5]}, {"cycle_rewards": ["5"]},
    {"cycle_rewards": [5, -1]}, {"cycle_rewards": [1] * 32}, {"cycle_rewards": [True]}, {"cycle_rewards": "5,5"},
    {"cycle_rewards": [10**9]},
    {"monthly_rewards": {"0": 5}}, {"monthly_rewards": {"32": 5}}, {"monthly_rewards": {"010": 5}},
    {"monthly_rewards": {"ten": 5}}, {"monthly_rewards": {"10": 5.5}}, {"monthly_rewards": {"10": "5"}},
    {"monthly_rewards": {"10": -1}}, {"monthly_rewards": [[10, 5]]},
    {"makeups_per_month": 32}, {"makeups_per_month": -1}, {"makeups_per_month": "2"}, {"makeups_per_month": 2.0},
    {"makeup_cost_points": -1}, {"makeup_cost_points": 1.5}, {"makeup_cost_points": None},
    {"bonus": 1},
], ids=repr)
def test_bad_settings_are_refused_and_change_nothing(app, client, member, change):
    ops = operator_headers(app, client)
    response = client.put(URL, json={**NEW, **change}, headers=ops)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "validation_error"
    assert stored(app) == DEMO and audited(app) == []
    assert client.get("/api/v1/checkins", headers=auth(member)).get_json()["today_reward"] == 5


def test_a_missing_field_is_refused(app, client, member):
    ops = operator_headers(app, client)
    body = {k: v for k, v in NEW.items() if k != "makeups_per_month"}
    response = client.put(URL, json=body, headers=ops)
    assert response.status_code == 422 and "makeups_per_month" in response.get_json()["error"]["message"]
    assert stored(app) == DEMO


def test_an_analyst_reads_the_table_but_cannot_change_it(app, client, member):
    analyst = operator_headers(app, client, "analyst")
    assert client.get(URL, headers=analyst).status_code == 200
    refused = client.put(URL, json=NEW, headers=analyst)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "role_forbidden"
    assert client.put(URL, json=NEW, headers=auth(member)).status_code == 401
    assert client.get(URL).status_code == 401
    assert stored(app) == DEMO


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"get", "put"} <= set(paths[URL])
    assert "requestBody" in paths[URL]["put"]


def test_the_console_form_shows_the_table_and_saves_it(app, client, member):
    console = sign_in(app, "operator")
    page = console.get("/console/settings/checkin", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "签到奖励" in text
    assert 'value="5, 5, 10, 10, 15, 15, 50"' in text and 'value="10:20, 20:50, 28:100"' in text
    saved = console.post("/console/settings/checkin/1", data={
        "cycle_rewards": "7,8,9", "monthly_rewards": "2:30, 1:3", "makeups_per_month": "1",
        "makeup_cost_points": "0", "csrf_token": token_of(console)})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]
    assert stored(app) == {**NEW, "monthly_rewards": {"1": 3, "2": 30}}
    assert client.get("/api/v1/checkins", headers=auth(member)).get_json()["today_reward"] == 7
    [entry] = audited(app)
    assert entry.action.endswith("POST /console/settings/checkin/1")


def test_the_console_clears_the_monthly_rewards_when_left_empty(app, member):
    console = sign_in(app, "operator")
    saved = console.post("/console/settings/checkin/1", data={
        "cycle_rewards": "5", "monthly_rewards": "", "makeups_per_month": "0", "makeup_cost_points": "0",
        "csrf_token": token_of(console)})
    assert saved.status_code == 302
    assert stored(app)["monthly_rewards"] == {}


@pytest.mark.parametrize("field, value", [
    ("cycle_rewards", "5, 1.5"), ("cycle_rewards", "5, -1"), ("cycle_rewards", ""), ("monthly_rewards", "10:abc"),
    ("monthly_rewards", "40:10"), ("monthly_rewards", "10=20"), ("monthly_rewards", "10:5, 10:6"),
    ("makeups_per_month", "99"), ("makeup_cost_points", "2.5"),
])
def test_a_bad_console_field_is_shown_beside_it_and_nothing_is_saved(app, member, field, value):
    console = sign_in(app, "operator")
    form = {"cycle_rewards": "7, 8, 9", "monthly_rewards": "1:3", "makeups_per_month": "1", "makeup_cost_points": "0"}
    page = console.post("/console/settings/checkin/1", data={**form, field: value, "csrf_token": token_of(console)})
    assert page.status_code == 422
    assert f'data-field="{field}"' in page.get_data(as_text=True)
    assert stored(app) == DEMO


def test_an_analyst_sees_the_console_form_without_a_save_button(app, member):
    console = sign_in(app, "analyst")
    page = console.get("/console/settings/checkin/1").get_data(as_text=True)
    assert 'name="cycle_rewards"' in page and "保存</button>" not in page
    refused = console.post("/console/settings/checkin/1", data={"cycle_rewards": "1", "makeups_per_month": "0",
                                                                 "makeup_cost_points": "0",
                                                                 "csrf_token": token_of(console)})
    assert refused.status_code == 403
    assert stored(app) == DEMO
