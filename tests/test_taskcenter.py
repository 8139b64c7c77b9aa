"""The task center: progress from events, claims once per period."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from app import clock
from app.earning import engine
from tests.support import auth, login, seed_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def alice(app, client):
    with app.app_context():
        seed_rules()
    return login(client, "alice")


def tasks(client, session) -> dict:
    return {t["code"]: t for t in client.get("/api/v1/tasks", headers=auth(session)).get_json()["items"]}


def test_tasks_complete_from_events_and_pay_once(app, client, alice):
    headers = auth(alice)
    assert tasks(client, alice)["daily-checkin"]["status"] == "todo"
    assert client.post("/api/v1/tasks/daily-checkin/claim", headers=headers).status_code == 409
    client.post("/api/v1/checkins", headers=headers)
    assert tasks(client, alice)["daily-checkin"]["status"] == "claimable"
    claimed = client.post("/api/v1/tasks/daily-checkin/claim", headers=headers)
    assert claimed.status_code == 201 and claimed.get_json()["points"] == 2
    again = client.post("/api/v1/tasks/daily-checkin/claim", headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "task_already_claimed"
    assert tasks(client, alice)["daily-checkin"]["status"] == "claimed"


def test_progress_counts_toward_the_target_and_resets_daily(app, client, alice):
    clock.freeze(datetime(2026, 7, 1, 10, tzinfo=SHANGHAI))
    headers = auth(alice)
    for i in range(2):
        response = client.post("/api/v1/me/actions", json={"type": "browse", "target": f"a{i}"}, headers=headers)
        assert response.status_code == 200, response.get_json()
    browse = tasks(client, alice)["daily-browse"]
    assert (browse["progress"], browse["target"], browse["status"]) == (2, 3, "todo")
    assert browse["resets_at"] == datetime(2026, 7, 2, tzinfo=SHANGHAI).isoformat()
    client.post("/api/v1/me/actions", json={"type": "browse", "target": "a2"}, headers=headers)
    assert tasks(client, alice)["daily-browse"]["status"] == "claimable"
    clock.advance(timedelta(days=1))
    assert tasks(client, alice)["daily-browse"]["progress"] == 0


def test_one_time_tasks_stay_done(app, client, alice):
    headers = auth(alice)
    client.post("/api/v1/me/phone", json={"code": "13600000001.a"}, headers=headers)
    assert client.post("/api/v1/tasks/bind-phone/claim", headers=headers).get_json()["points"] == 20
    clock.freeze(clock.now() + timedelta(days=5))
    assert tasks(client, alice)["bind-phone"]["status"] == "claimed"


def test_weekly_task(app, client, alice):
    member = alice["member"]["id"]
    clock.freeze(datetime(2026, 7, 6, 10, tzinfo=SHANGHAI))  # a Monday
    with app.app_context():
        for i in range(2):
            engine.process(engine.Event("course_completed", member, f"course-{i}", source="lms"))
    assert tasks(client, alice)["weekly-course"]["status"] == "claimable"
    clock.freeze(datetime(2026, 7, 13, 10, tzinfo=SHANGHAI))
    assert tasks(client, alice)["weekly-course"]["progress"] == 0


def test_parallel_claims_pay_once(app, live_server, client, alice):
    headers = auth(alice)
    client.post("/api/v1/checkins", headers=headers)

    def claim(_):
        return requests.post(f"{live_server}/api/v1/tasks/daily-checkin/claim", headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(claim, range(10)))
    assert statuses.count(201) == 1 and statuses.count(409) == 9


def test_unknown_task_is_404_and_bad_code_422(client, alice):
    assert client.post("/api/v1/tasks/no-such-task/claim", headers=auth(alice)).status_code == 404
    assert client.post("/api/v1/tasks/BAD CODE/claim", headers=auth(alice)).status_code in (404, 422)
