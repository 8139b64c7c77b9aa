"""Operators define the task center's tasks (API and console); members see and complete them."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.taskcenter.models import TaskDefinition
from tests.support import auth, login, operator_headers, seed_rules
from tests.test_console import sign_in, token_of

URL = "/api/v1/admin/tasks"
TASK = {"code": "share-twice", "title": "分享两次好物", "kind": "daily", "event_type": "share", "target": 2,
        "reward_points": 15, "reward_growth": 3, "link": "pages/content/index", "sort": 1}


@pytest.fixture
def member(app, client):
    with app.app_context():
        seed_rules()
    return login(client, "tasker")


def member_tasks(client, member) -> dict:
    return {t["code"]: t for t in client.get("/api/v1/tasks", headers=auth(member)).get_json()["items"]}


def share(client, member, target: str) -> None:
    response = client.post("/api/v1/me/actions", json={"type": "share", "target": target}, headers=auth(member))
    assert response.status_code == 200, response.get_json()


def task_rows(app) -> list[tuple]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(TaskDefinition.code, TaskDefinition.title, TaskDefinition.active, TaskDefinition.reward_points)
            .order_by(TaskDefinition.id))]


def audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.target_table == "task_definitions"))


def test_a_new_task_appears_for_members_and_completes_from_its_event(app, client, member):
    ops = operator_headers(app, client, "operator")
    created = client.post(URL, json=TASK, headers=ops)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["active"] is True and created.get_json()["id"] >= 1
    task = member_tasks(client, member)["share-twice"]
    assert (task["status"], task["progress"], task["target"], task["reward_points"]) == ("todo", 0, 2, 15)
    share(client, member, "item-1")
    assert member_tasks(client, member)["share-twice"]["status"] == "todo"
    share(client, member, "item-2")
    assert member_tasks(client, member)["share-twice"]["status"] == "claimable"
    claimed = client.post("/api/v1/tasks/share-twice/claim", headers=auth(member))
    assert claimed.status_code == 201 and (claimed.get_json()["points"], claimed.get_json()["growth"]) == (15, 3)
    assert "share-twice" in [t["code"] for t in client.get(URL, headers=ops).get_json()["items"]]
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.target_table == "task_definitions"))
        assert entry.change == "create" and entry.action == f"POST {URL}" and entry.after["code"] == "share-twice"


def test_a_deactivated_task_disappears_for_members_but_stays_for_operators(app, client, member):
    ops = operator_headers(app, client)
    task_id = client.post(URL, json=TASK, headers=ops).get_json()["id"]
    changed = client.put(f"{URL}/{task_id}", json={**TASK, "active": False, "title": "已下线"}, headers=ops)
    assert changed.status_code == 200 and changed.get_json()["active"] is False
    assert "share-twice" not in member_tasks(client, member)
    share(client, member, "a")
    share(client, member, "b")
    refused = client.post("/api/v1/tasks/share-twice/claim", headers=auth(member))
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "unknown_task"
    listed = {t["code"]: t for t in client.get(URL, headers=ops).get_json()["items"]}
    assert listed["share-twice"]["active"] is False and listed["share-twice"]["title"] == "已下线"
    assert client.put(f"{URL}/{task_id}", json=TASK, headers=ops).status_code == 200
    assert member_tasks(client, member)["share-twice"]["status"] == "claimable"


def test_an_edited_reward_is_what_the_next_claim_pays(app, client, member):
    ops = operator_headers(app, client)
    daily_checkin = next(t for t in client.get(URL, headers=ops).get_json()["items"] if t["code"] == "daily-checkin")
    body = {k: daily_checkin[k] for k in TASK}
    assert client.put(f"{URL}/{daily_checkin['id']}", json={**body, "reward_points": 9}, headers=ops).status_code == 200
    client.post("/api/v1/checkins", headers=auth(member))
    assert client.post("/api/v1/tasks/daily-checkin/claim", headers=auth(member)).get_json()["points"] == 9


@pytest.mark.parametrize("change", [
    {"kind": "monthly"}, {"event_type": "teleport"}, {"event_type": "task_reward"}, {"event_type": "refund"},
    {"target": 0}, {"target": 1.5}, {"target": "2"}, {"target": 1001}, {"reward_points": -1},
    {"reward_points": 10.0}, {"reward_points": "10"}, {"reward_growth": -5}, {"code": "Bad Code"}, {"code": ""},
    {"code": "x" * 49}, {"title": ""}, {"title": "长" * 65}, {"link": "p" * 129}, {"active": "yes"},
    {"sort": -1}, {"bonus": 1},
], ids=repr)
def test_bad_tasks_are_refused_and_change_nothing(app, client, member, change):
    ops = operator_headers(app, client)
    before = task_rows(app)
    response = client.post(URL, json={**TASK, **change}, headers=ops)
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()["error"]) >= {"code", "message"}
    assert task_rows(app) == before and audit_count(app) == 0


def test_a_duplicate_code_is_a_conflict(app, client, member):
    ops = operator_headers(app, client)
    assert client.post(URL, json=TASK, headers=ops).status_code == 201
    before = task_rows(app)
    again = client.post(URL, json={**TASK, "title": "另一个"}, headers=ops)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "task_code_taken"
    other = client.post(URL, json={**TASK, "code": "other"}, headers=ops).get_json()["id"]
    renamed = client.put(f"{URL}/{other}", json={**TASK, "code": "daily-checkin"}, headers=ops)
    assert renamed.status_code == 409 and renamed.get_json()["error"]["code"] == "task_code_taken"
    missing = client.put(f"{URL}/99999", json=TASK, headers=ops)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "unknown_task"
    assert [row for row in task_rows(app) if row[0] != "other"] == before


def test_a_claimed_tasks_code_is_fixed(app, client, member):
    ops = operator_headers(app, client)
    task_id = client.post(URL, json={**TASK, "target": 1}, headers=ops).get_json()["id"]
    assert client.put(f"{URL}/{task_id}", json={**TASK, "target": 1, "code": "share-once"}, headers=ops).status_code == 200
    share(client, member, "x")
    assert client.post("/api/v1/tasks/share-once/claim", headers=auth(member)).status_code == 201
    locked = client.put(f"{URL}/{task_id}", json={**TASK, "code": "share-again"}, headers=ops)
    assert locked.status_code == 409 and locked.get_json()["error"]["code"] == "task_code_locked"
    assert "share-once" in member_tasks(client, member)


def test_an_analyst_lists_tasks_but_cannot_change_them(app, client, member):
    analyst = operator_headers(app, client, "analyst")
    assert client.get(URL, headers=analyst).status_code == 200
    before = task_rows(app)
    assert client.post(URL, json=TASK, headers=analyst).status_code == 403
    assert client.put(f"{URL}/1", json=TASK, headers=analyst).status_code == 403
    assert client.post(URL, json=TASK, headers=auth(member)).status_code == 401
    assert task_rows(app) == before


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths[URL]) and "put" in paths[URL + "/{task_id}"]


CONSOLE_TASK = {"code": "course-day", "title": "今日完成一节课", "kind": "daily", "event_type": "course_completed",
                "target": "1", "reward_points": "12", "reward_growth": "0", "sort": "3", "active": "on"}


def test_a_task_made_in_the_console_reaches_members(app, client, member):
    console = sign_in(app, "operator")
    saved = console.post("/console/settings/tasks/new", data={**CONSOLE_TASK, "csrf_token": token_of(console)})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]
    assert "今日完成一节课" in console.get("/console/settings/tasks").get_data(as_text=True)
    assert member_tasks(client, member)["course-day"]["reward_points"] == 12
    with app.app_context():
        task_id = db.session.scalar(select(TaskDefinition.id).where(TaskDefinition.code == "course-day"))
    form = console.get(f"/console/settings/tasks/{task_id}").get_data(as_text=True)
    assert 'value="今日完成一节课"' in form
    off = {k: v for k, v in CONSOLE_TASK.items() if k != "active"}  # an unticked checkbox is not posted
    assert console.post(f"/console/settings/tasks/{task_id}",
                        data={**off, "csrf_token": token_of(console)}).status_code == 302
    assert "course-day" not in member_tasks(client, member)
    assert audit_count(app) == 2


@pytest.mark.parametrize("field, value", [("target", "0"), ("reward_points", "1.5"), ("kind", "monthly"),
                                          ("code", "Bad Code"), ("title", "")])
def test_a_bad_console_field_is_shown_beside_it(app, member, field, value):
    console = sign_in(app, "operator")
    before = task_rows(app)
    page = console.post("/console/settings/tasks/new",
                        data={**CONSOLE_TASK, field: value, "csrf_token": token_of(console)})
    assert page.status_code == 422
    assert f'data-field="{field}"' in page.get_data(as_text=True)
    assert task_rows(app) == before


def test_the_console_explains_an_unknown_event_type_and_a_taken_code(app, member):
    console = sign_in(app, "operator")
    page = console.post("/console/settings/tasks/new",
                        data={**CONSOLE_TASK, "event_type": "teleport", "csrf_token": token_of(console)})
    assert page.status_code == 422 and "未知或不可用于任务的事件类型" in page.get_data(as_text=True)
    taken = console.post("/console/settings/tasks/new",
                         data={**CONSOLE_TASK, "code": "daily-checkin", "csrf_token": token_of(console)})
    assert taken.status_code == 422 and "任务编码已存在" in taken.get_data(as_text=True)
