"""The console's push screens (message templates, WeCom robots, automations) and editing campaigns:
each saves through the same service as the operator API, refuses what the API refuses, and leaves
nothing changed when it refuses."""
from __future__ import annotations

import json

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.console.settings import SECTIONS
from app.earning.models import Campaign
from app.extensions import db
from app.segments import service as segments
from tasks.demo import seed_demo_robot, seed_templates
from tasks.models import Automation, MessageTemplate, Robot
from tests.support import operator_headers
from tests.test_console import sign_in, token_of

ROBOT_KEY = "9f0c-robot-key-7a21"
CAMPAIGN = {"name": "周年庆", "grade": "A", "starts_at": "2026-09-01T00:00:00+08:00",
            "ends_at": "2026-09-08T00:00:00+08:00", "multiplier_pct": 200, "event_types": ["purchase"]}


def _seed(app, *tags: str) -> None:
    with app.app_context():
        seed_templates()
        seed_demo_robot()
        for code in tags:
            segments.create_tag({"code": code, "name": code, "kind": "manual"})


def _form_values(app, slug: str, row) -> dict:
    """What the edit form shows for `row`, as a browser would post it back (blank inputs left out)."""
    with app.app_context():
        values = SECTIONS[slug].values(row)
    return {name: value for name, value in values.items() if value != ""}


def test_a_template_edited_in_the_console_is_what_the_api_returns(app, client):
    _seed(app)
    console = sign_in(app, "operator")
    form = console.get("/console/settings/message-templates/birthday").get_data(as_text=True)
    assert 'name="group_text"' in form and "今天有 {count} 位会员过生日" in form
    with app.app_context():
        values = _form_values(app, "message-templates", db.session.get(MessageTemplate, "birthday"))
    fields = {"thing1": "{nickname},生日快乐", "thing2": "生日礼:{gift}"}
    values.update(group_text="今天 {count} 位会员生日", fields=json.dumps(fields, ensure_ascii=False),
                  csrf_token=token_of(console))
    saved = console.post("/console/settings/message-templates/birthday", data=values)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]
    items = client.get("/api/v1/admin/message-templates", headers=operator_headers(app, client)).get_json()["items"]
    birthday = next(t for t in items if t["code"] == "birthday")
    assert birthday["group_text"] == "今天 {count} 位会员生日" and birthday["fields"] == fields
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.target_id).where(AuditEntry.target_table == "message_templates")
                                 ) == "birthday"


def test_a_bad_template_is_refused_beside_its_field_and_nothing_changes(app):
    _seed(app)
    console = sign_in(app, "operator")
    with app.app_context():
        before = db.session.get(MessageTemplate, "birthday")
        values, fields = _form_values(app, "message-templates", before), dict(before.fields)
    for bad, field in (({"fields": "{not json"}, "fields"), ({"fields": "{}"}, "fields"),
                       ({"page": "/pages/index"}, "page")):
        page = console.post("/console/settings/message-templates/birthday",
                            data={**values, **bad, "group_text": "改过了", "csrf_token": token_of(console)})
        assert page.status_code == 422 and f'data-field="{field}"' in page.get_data(as_text=True)
    assert console.get("/console/settings/message-templates/new").status_code == 404  # edit only
    assert console.get("/console/settings/message-templates/nope").status_code == 404
    with app.app_context():
        after = db.session.get(MessageTemplate, "birthday")
        assert after.fields == fields and after.group_text != "改过了"


def test_a_robot_added_in_the_console_is_listed_and_its_key_never_shown(app, client):
    _seed(app)
    console = sign_in(app, "operator")
    new = console.get("/console/settings/robots/new").get_data(as_text=True)
    assert 'type="password" name="webhook_key"' in new
    saved = console.post("/console/settings/robots/new", data={"name": "华东运营群", "webhook_key": ROBOT_KEY,
                                                               "scope": "operators", "csrf_token": token_of(console)})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]
    listing = console.get("/console/settings/robots").get_data(as_text=True)
    assert "华东运营群" in listing and "****7a21" in listing and ROBOT_KEY not in listing
    ops = operator_headers(app, client)
    robots = client.get("/api/v1/admin/robots", headers=ops).get_json()["items"]
    added = next(r for r in robots if r["name"] == "华东运营群")
    assert added["active"] is True and added["scope"] == "operators" and "webhook_key" not in added
    # editing: the form does not show the key; left blank it stays
    form = console.get(f"/console/settings/robots/{added['id']}").get_data(as_text=True)
    assert ROBOT_KEY not in form and 'value="华东运营群"' in form
    assert console.post(f"/console/settings/robots/{added['id']}",
                        data={"name": "华东运营一群", "csrf_token": token_of(console)}).status_code == 302
    with app.app_context():
        robot = db.session.get(Robot, added["id"])
        assert (robot.name, robot.webhook_key, robot.active) == ("华东运营一群", ROBOT_KEY, False)
        audited = json.dumps([(e.before, e.after) for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.target_table == "wecom_robots"))], ensure_ascii=False)
        assert "华东运营一群" in audited and ROBOT_KEY not in audited


def test_robot_changes_through_the_api_and_refusals_change_nothing(app, client):
    _seed(app)
    ops = operator_headers(app, client)
    robot_id = client.get("/api/v1/admin/robots", headers=ops).get_json()["items"][0]["id"]
    renamed = client.patch(f"/api/v1/admin/robots/{robot_id}", json={"name": "总部运营群", "webhook_key": ROBOT_KEY},
                           headers=ops)
    assert renamed.status_code == 200 and renamed.get_json() == {
        "id": robot_id, "name": "总部运营群", "scope": "operators", "store_id": None, "active": True}
    for body in ({"webhook_key": "short"}, {"scope": "store"}, {"name": ""}, {"active": "maybe"}):
        assert client.patch(f"/api/v1/admin/robots/{robot_id}", json=body, headers=ops).status_code == 422
    assert client.patch("/api/v1/admin/robots/99999", json={"name": "x"}, headers=ops).status_code == 404
    # the same key twice is a conflict
    assert client.post("/api/v1/admin/robots", json={"name": "重复", "webhook_key": ROBOT_KEY},
                       headers=ops).status_code == 409
    console = sign_in(app, "operator")
    page = console.post("/console/settings/robots/new", data={"name": "门店群", "webhook_key": "store-robot-key-1",
                                                              "scope": "store", "csrf_token": token_of(console)})
    assert page.status_code == 422 and "门店群机器人须指定门店" in page.get_data(as_text=True)
    with app.app_context():
        robots = db.session.scalars(select(Robot)).all()
        assert [(r.name, r.webhook_key) for r in robots] == [("总部运营群", ROBOT_KEY)]


def test_an_automation_is_switched_off_and_targeted_from_the_console(app, client):
    _seed(app, "vip")
    console = sign_in(app, "operator")
    form = console.get("/console/settings/automations/level_up").get_data(as_text=True)
    assert 'name="segment"' in form and 'name="active"' in form
    saved = console.post("/console/settings/automations/level_up",
                         data={"segment": "vip", "csrf_token": token_of(console)})  # "active" unticked
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]
    ops = operator_headers(app, client)
    items = client.get("/api/v1/admin/automations", headers=ops).get_json()["items"]
    assert next(a for a in items if a["code"] == "level_up") == {
        "code": "level_up", "name": "升级祝贺", "template": "level_up", "active": False, "segment": "vip"}
    # an unknown segment is refused on the form, and the automation stays as it was
    page = console.post("/console/settings/automations/level_up",
                        data={"active": "on", "segment": "no-such-tag", "csrf_token": token_of(console)})
    assert page.status_code == 422 and "分群不存在" in page.get_data(as_text=True)
    with app.app_context():
        automation = db.session.get(Automation, "level_up")
        assert (automation.active, automation.segment) == (False, "vip")
    # switched on with the segment left blank: everyone again
    assert console.post("/console/settings/automations/level_up",
                        data={"active": "on", "csrf_token": token_of(console)}).status_code == 302
    with app.app_context():
        automation = db.session.get(Automation, "level_up")
        assert (automation.active, automation.segment) == (True, None)
    assert console.get("/console/settings/automations/new").status_code == 404


def test_a_campaign_is_edited_through_the_api_and_the_console(app, client):
    _seed(app, "vip")
    ops = operator_headers(app, client)
    campaign_id = client.post("/api/v1/admin/campaigns", json=CAMPAIGN, headers=ops).get_json()["id"]
    replaced = client.put(f"/api/v1/admin/campaigns/{campaign_id}",
                          json={**CAMPAIGN, "multiplier_pct": 300, "segment": "vip"}, headers=ops)
    assert replaced.status_code == 200, replaced.get_json()
    assert replaced.get_json()["multiplier_pct"] == 300 and replaced.get_json()["segment"] == "vip"
    console = sign_in(app, "operator")
    form = console.get(f"/console/settings/campaigns/{campaign_id}").get_data(as_text=True)
    assert 'value="周年庆"' in form and 'value="300"' in form
    with app.app_context():
        values = _form_values(app, "campaigns", db.session.get(Campaign, campaign_id))
    values.update(name="周年庆 三倍积分", csrf_token=token_of(console))
    saved = console.post(f"/console/settings/campaigns/{campaign_id}", data=values)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]
    items = client.get("/api/v1/admin/campaigns", headers=ops).get_json()["items"]
    assert [(c["name"], c["multiplier_pct"], c["segment"]) for c in items] == [("周年庆 三倍积分", 300, "vip")]
    assert f"/console/settings/campaigns/{campaign_id}" in console.get("/console/settings/campaigns").get_data(
        as_text=True)


def test_a_bad_campaign_edit_is_refused_and_changes_nothing(app, client):
    _seed(app)
    ops = operator_headers(app, client)
    campaign_id = client.post("/api/v1/admin/campaigns", json=CAMPAIGN, headers=ops).get_json()["id"]
    url = f"/api/v1/admin/campaigns/{campaign_id}"
    for body, status in (({**CAMPAIGN, "ends_at": "2026-08-01T00:00:00+08:00"}, 422),
                         ({**CAMPAIGN, "multiplier_pct": 50}, 422),
                         ({**CAMPAIGN, "event_types": ["no_such_event"]}, 422),
                         ({**CAMPAIGN, "segment": "no-such-tag"}, 404),
                         ({**CAMPAIGN, "surprise": 1}, 422)):
        assert client.put(url, json={**body, "name": "改坏了"}, headers=ops).status_code == status
    assert client.put("/api/v1/admin/campaigns/99999", json=CAMPAIGN, headers=ops).status_code == 404
    console = sign_in(app, "operator")
    with app.app_context():
        values = _form_values(app, "campaigns", db.session.get(Campaign, campaign_id))
    page = console.post(f"/console/settings/campaigns/{campaign_id}",
                        data={**values, "name": "改坏了", "segment": "no-such-tag", "csrf_token": token_of(console)})
    assert page.status_code == 422 and "分群不存在" in page.get_data(as_text=True)
    page = console.post(f"/console/settings/campaigns/{campaign_id}",
                        data={**values, "name": "改坏了", "multiplier_pct": "2.5", "csrf_token": token_of(console)})
    assert page.status_code == 422 and 'data-field="multiplier_pct"' in page.get_data(as_text=True)
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        assert (campaign.name, campaign.multiplier_pct, campaign.segment) == ("周年庆", 200, None)


def test_an_analyst_changes_none_of_them(app, client):
    _seed(app, "vip")
    ops = operator_headers(app, client)
    campaign_id = client.post("/api/v1/admin/campaigns", json=CAMPAIGN, headers=ops).get_json()["id"]
    analyst_api = operator_headers(app, client, "analyst")
    assert client.put(f"/api/v1/admin/campaigns/{campaign_id}", json={**CAMPAIGN, "name": "x"},
                      headers=analyst_api).status_code == 403
    assert client.patch("/api/v1/admin/robots/1", json={"name": "x"}, headers=analyst_api).status_code == 403
    analyst = sign_in(app, "analyst")
    token = token_of(analyst)
    for path, data in (("robots/new", {"name": "x", "webhook_key": ROBOT_KEY}),
                       ("robots/1", {"name": "x"}),
                       ("message-templates/birthday", {"name": "x", "wechat_template_id": "t", "fields": '{"a": "b"}'}),
                       ("automations/level_up", {"segment": "vip"}),
                       (f"campaigns/{campaign_id}", {**CAMPAIGN, "name": "x", "event_types": "purchase"})):
        assert analyst.post(f"/console/settings/{path}", data={**data, "csrf_token": token}).status_code == 403
    page = analyst.get("/console/settings/automations/level_up").get_data(as_text=True)
    assert "保存</button>" not in page
    with app.app_context():
        assert [r.name for r in db.session.scalars(select(Robot))] == ["运营群"]
        assert db.session.get(MessageTemplate, "birthday").name != "x"
        automation = db.session.get(Automation, "level_up")
        assert (automation.active, automation.segment) == (True, None)
        assert db.session.get(Campaign, campaign_id).name == "周年庆"
