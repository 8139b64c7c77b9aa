"""The console's configuration screens: each saves through the API's own validation and service,
shows errors beside the field, is audited, and respects roles."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.console.settings import SECTIONS
from app.earning.models import EarnRule
from app.extensions import db
from app.staff.models import Staff
from tests.support import auth, login, seed_levels
from tests.test_console import sign_in, token_of

RULE = {"code": "share-poster", "name": "分享海报", "event_type": "share", "mode": "fixed", "points": "15",
        "growth": "5", "cap_per_day": "3", "active": "on"}


@pytest.mark.parametrize("slug", sorted(SECTIONS))
def test_every_section_opens_for_an_analyst(app, slug):
    client = sign_in(app, "analyst")
    page = client.get(f"/console/settings/{slug}", follow_redirects=True)
    assert page.status_code == 200
    assert SECTIONS[slug].title in page.get_data(as_text=True)


def test_the_settings_index_lists_every_section(app):
    page = sign_in(app, "operator").get("/console/settings").get_data(as_text=True)
    for section in SECTIONS.values():
        assert section.title in page


def test_an_earn_rule_made_in_the_console_earns_points(app, client):
    console = sign_in(app, "operator")
    saved = console.post("/console/settings/earn-rules/new", data={**RULE, "csrf_token": token_of(console)})
    assert saved.status_code == 302
    listing = console.get("/console/settings/earn-rules").get_data(as_text=True)
    assert "分享海报" in listing
    member = login(client, "sharer")
    earned = client.post("/api/v1/me/actions", json={"type": "share", "target": "item-1"}, headers=auth(member))
    assert earned.status_code == 200, earned.get_json()
    account = client.get("/api/v1/me/account", headers=auth(member)).get_json()
    assert account["points"]["available"] == 15
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.target_table == "earn_rules")) == 1


def test_a_bad_field_is_shown_beside_it_and_nothing_is_saved(app):
    console = sign_in(app, "operator")
    page = console.post("/console/settings/earn-rules/new",
                        data={**RULE, "points": "1.5", "cap_per_day": "0", "csrf_token": token_of(console)})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert 'data-field="points"' in text and 'data-field="cap_per_day"' in text
    assert 'value="分享海报"' in text  # what was typed stays in the form
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EarnRule)) == 0


def test_editing_a_level_changes_the_ladder_members_see(app, client):
    with app.app_context():
        seed_levels()
    console = sign_in(app, "operator")
    code = client.get("/api/v1/levels").get_json()["items"][-1]["code"]
    form = console.get(f"/console/settings/levels/{code}").get_data(as_text=True)
    assert 'name="threshold"' in form
    with app.app_context():
        from app.levels.models import LevelDefinition
        level = db.session.scalar(select(LevelDefinition).where(LevelDefinition.code == code))
        values = SECTIONS["levels"].values(level)
    values = {k: v for k, v in values.items() if v != ""}
    values.update(name="黑金会员", csrf_token=token_of(console))
    saved = console.post(f"/console/settings/levels/{code}", data=values)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]
    names = [level["name"] for level in client.get("/api/v1/levels").get_json()["items"]]
    assert "黑金会员" in names


def test_lottery_prizes_and_settings_reach_the_members_wheel(app, client):
    console = sign_in(app, "operator")
    token = token_of(console)
    assert console.post("/console/settings/lottery-prizes/new",
                        data={"name": "88 积分", "kind": "points", "points": "88", "weight": "1", "active": "on",
                              "csrf_token": token}).status_code == 302
    assert console.post("/console/settings/lottery/1",
                        data={"cost_points": "30", "daily_limit": "2", "active": "on", "csrf_token": token}
                        ).status_code == 302
    wheel = client.get("/api/v1/lottery", headers=auth(login(client, "player"))).get_json()
    assert wheel["cost_points"] == 30 and wheel["daily_limit"] == 2
    assert [p["name"] for p in wheel["prizes"]] == ["88 积分"]


def test_a_tag_is_created_and_renamed(app):
    console = sign_in(app, "operator")
    token = token_of(console)
    assert console.post("/console/settings/tags/new", data={"code": "vip-b2b", "name": "重点企业", "kind": "manual",
                                                           "active": "on", "csrf_token": token}).status_code == 302
    assert console.post("/console/settings/tags/vip-b2b", data={"name": "重点企业客户", "active": "on",
                                                               "csrf_token": token}).status_code == 302
    assert "重点企业客户" in console.get("/console/settings/tags").get_data(as_text=True)


def test_only_an_admin_creates_staff_and_the_password_is_not_audited(app):
    store = sign_in(app, "admin", "store-admin")
    assert store.post("/console/settings/stores/new", data={"code": "BJ01", "name": "北京国贸店",
                                                           "csrf_token": token_of(store)}).status_code == 302
    with app.app_context():
        from app.staff.models import Store
        store_id = db.session.scalar(select(Store.id).where(Store.code == "BJ01"))
    staff = {"username": "clerk-bj", "password": "s3cret-pass-123", "role": "clerk", "store_ids": str(store_id),
             "display_name": "小李"}
    operator = sign_in(app, "operator")
    assert operator.post("/console/settings/staff/new", data={**staff, "csrf_token": token_of(operator)}
                         ).status_code == 403
    assert store.post("/console/settings/staff/new", data={**staff, "csrf_token": token_of(store)}
                      ).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Staff.display_name).where(Staff.username == "clerk-bj")) == "小李"
        audited = " ".join(str(e.after) for e in db.session.scalars(select(AuditEntry)))
        assert "s3cret-pass-123" not in audited


def test_an_analyst_changes_nothing(app):
    analyst = sign_in(app, "analyst")
    page = analyst.get("/console/settings/earn-rules/new")
    assert page.status_code == 200 and "保存</button>" not in page.get_data(as_text=True)
    response = analyst.post("/console/settings/earn-rules/new", data={**RULE, "csrf_token": token_of(analyst)})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EarnRule)) == 0


def test_a_post_without_the_csrf_token_changes_nothing(app):
    console = sign_in(app, "operator")
    assert console.post("/console/settings/earn-rules/new", data=RULE).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EarnRule)) == 0


def test_unknown_sections_and_rows_are_404(app):
    console = sign_in(app, "operator")
    assert console.get("/console/settings/nope").status_code == 404
    assert console.get("/console/settings/earn-rules/999999").status_code == 404
    assert console.get("/console/settings/earn-rules/not-a-number").status_code == 404
    assert console.get("/console/settings/levels/" + "x" * 300).status_code == 404
