"""The operators' console over HTTP: sign-in, CSRF, roles, field errors, audit, figures."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.audit.models import AuditEntry
from app.extensions import db
from app.operators.models import OperatorStore
from app.operators.service import create
from app.points.models import LedgerEntry
from mall.models import Item
from tests.support import login, make_store, seed_rules

PASSWORD = "correct horse battery"


def csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def sign_in(app, role: str = "admin", username: str | None = None):
    client = app.test_client()
    username = username or f"console-{role}"
    with app.app_context():
        create(username, PASSWORD, role)
    token = csrf(client.get("/console/login"))
    response = client.post("/console/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def token_of(client, path: str = "/console/items") -> str:
    return csrf(client.get(path))


ITEM = {"sku": "MUG-1", "kind": "delivery", "category": "周边", "title": "会员马克杯", "points_price": "800",
        "total_stock": "50", "status": "on_sale"}


def test_signing_in_and_out(app):
    client = app.test_client()
    assert client.get("/console/").status_code == 302  # to the login page
    with app.app_context():
        create("ops", PASSWORD, "operator")
    bad = client.post("/console/login", data={"username": "ops", "password": "nope",
                                              "csrf_token": csrf(client.get("/console/login"))})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.get_data(as_text=True)
    client = sign_in(app, "admin")
    assert "数据看板" in client.get("/console/").get_data(as_text=True)
    client.post("/console/logout", data={"csrf_token": token_of(client)})
    assert client.get("/console/").status_code == 302


def test_an_idle_session_ends(app):
    client = sign_in(app)
    with client.session_transaction() as session:
        session["seen_at"] -= 31 * 60
    assert client.get("/console/").status_code == 302


def test_an_item_created_in_the_console_is_audited_and_seen_by_members(app):
    client = sign_in(app)
    response = client.post("/console/items/new", data={**ITEM, "csrf_token": token_of(client)})
    assert response.status_code == 302
    with app.app_context():
        seed_rules()
        item = db.session.scalar(select(Item).where(Item.sku == "MUG-1"))
        assert item.title == "会员马克杯" and item.remaining_stock == 50
        [created] = db.session.scalars(select(AuditEntry).where(AuditEntry.target_table == "mall_items")).all()
        assert created.change == "create" and created.after["title"] == "会员马克杯"
    member = login(app.test_client(), "alice")
    listed = app.test_client().get("/api/v1/mall/items", headers={"Authorization": f"Bearer {member['token']}"})
    assert "会员马克杯" in listed.get_data(as_text=True)
    assert "会员马克杯" in client.get("/console/audit").get_data(as_text=True)


def test_validation_errors_show_beside_the_field_and_save_nothing(app):
    client = sign_in(app)
    response = client.post("/console/items/new", data={**ITEM, "points_price": "-5", "total_stock": "abc",
                                                       "csrf_token": token_of(client)})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field="points_price"' in page and 'data-field="total_stock"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Item.id))) == 0


def test_without_the_csrf_token_nothing_changes(app):
    client = sign_in(app)
    response = client.post("/console/items/new", data=ITEM)
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Item.id))) == 0
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


def test_an_analyst_reads_but_changes_nothing(app):
    client = sign_in(app, "analyst")
    assert client.get("/console/").status_code == 200
    assert client.get("/console/items/new").status_code == 403
    token = token_of(client)
    assert client.post("/console/items/new", data={**ITEM, "csrf_token": token}).status_code == 403
    assert client.post("/console/programme", data={"points_name": "x", "csrf_token": token}).status_code == 403
    with app.app_context():
        member = login(app.test_client(), "bob")["member"]["id"]
    assert client.post(f"/console/members/{member}/adjust",
                       data={"amount": "100", "reason": "想改", "key": "k" * 16, "csrf_token": token}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count(Item.id))) == 0
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


def test_a_store_manager_sees_only_their_stores(app):
    with app.app_context():
        mine, other = make_store("SH01"), make_store("BJ01")
    client = sign_in(app, "store_manager", "manager-sh")
    with app.app_context():
        from app.operators.models import Operator

        manager = db.session.scalar(select(Operator).where(Operator.username == "manager-sh"))
        db.session.add(OperatorStore(operator_id=manager.id, store_id=mine))
        db.session.commit()
    page = client.get("/console/stores").get_data(as_text=True)
    assert "SH01" in page and "BJ01" not in page
    assert client.get(f"/console/stores/{mine}").status_code == 200
    assert client.get(f"/console/stores/{other}").status_code == 403
    assert client.get("/console/").status_code == 403 and client.get("/console/members").status_code == 403


def test_an_adjustment_needs_a_reason_and_lands_once_in_the_ledger_and_the_audit(app):
    with app.app_context():
        seed_rules()
    member = login(app.test_client(), "carol")["member"]["id"]
    client = sign_in(app)
    token = token_of(client, f"/console/members/{member}")
    missing = client.post(f"/console/members/{member}/adjust", data={"amount": "100", "key": "k" * 16, "csrf_token": token})
    assert missing.status_code == 422 and 'data-field="reason"' in missing.get_data(as_text=True)
    form = {"amount": "100", "reason": "门店活动补发", "key": "console-key-1", "csrf_token": token}
    assert client.post(f"/console/members/{member}/adjust", data=form).status_code == 302
    assert client.post(f"/console/members/{member}/adjust", data=form).status_code == 302  # a double submit
    with app.app_context():
        entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.reason == "门店活动补发")).all()
        assert len(entries) == 1 and entries[0].operator_id is not None
        audited = db.session.scalars(select(AuditEntry).where(AuditEntry.target_table == "ledger_entries")).all()
        assert [a.after["reason"] for a in audited] == ["门店活动补发"]
    assert "门店活动补发" in client.get("/console/audit").get_data(as_text=True)


def test_the_dashboard_agrees_with_the_books_and_exports_csv(app):
    with app.app_context():
        seed_rules()
    for name in ("dan", "erin", "fay"):
        client = app.test_client()
        token = login(client, name)["token"]
        client.post("/api/v1/checkins", headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"ci-{name}-0001"})
    console = sign_in(app)
    today = clock.business_date(clock.now())
    page = console.get(f"/console/?start={today - timedelta(days=6)}&end={today}").get_data(as_text=True)
    with app.app_context():
        issued = db.session.scalar(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.currency == "points", LedgerEntry.amount > 0))
    assert f'<b id="kpi-issued">{issued}</b>' in page and '<b id="kpi-new">3</b>' in page
    assert page.count("<svg") >= 5 and "cdn" not in page.lower()
    csv_text = console.get(f"/console/export/points_daily.csv?start={today - timedelta(days=6)}&end={today}").get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert lines[0] == "day,issued,spent,expired" and len(lines) == 8
    assert sum(int(line.split(",")[1]) for line in lines[1:]) == issued
    assert console.get("/console/?start=2026-13-01").status_code == 400
    assert console.get("/console/export/nope.csv").status_code == 404


def test_members_are_found_by_tag_and_tagged_from_their_page(app, client):
    alice, bob = login(client, "alice")["member"]["id"], login(client, "bob")["member"]["id"]
    console = sign_in(app, "operator")
    token = token_of(console)
    assert console.post("/console/settings/tags/new", data={"code": "vip", "name": "重点客户", "kind": "manual",
                                                           "active": "on", "csrf_token": token}).status_code == 302
    assert console.post(f"/console/members/{alice}/tags", data={"tag": "vip", "csrf_token": token}).status_code == 302
    page = console.get(f"/console/members/{alice}").get_data(as_text=True)
    assert 'data-tag="vip"' in page
    found = console.get("/console/members?segment=vip").get_data(as_text=True)
    assert f'/console/members/{alice}"' in found and f'/console/members/{bob}"' not in found
    assert console.get("/console/members?segment=nope").status_code == 404
    assert console.get("/console/members?segment=rfm:important_value").status_code == 200
    refused = console.post(f"/console/members/{bob}/tags", data={"tag": "missing", "csrf_token": token})
    assert refused.status_code == 404 and 'data-field="tag"' in refused.get_data(as_text=True)
    assert console.post(f"/console/members/{alice}/tags", data={"tag": "vip", "remove": "1",
                                                               "csrf_token": token}).status_code == 302
    assert 'data-tag="vip"' not in console.get(f"/console/members/{alice}").get_data(as_text=True)
    analyst = sign_in(app, "analyst")
    assert analyst.post(f"/console/members/{bob}/tags", data={"tag": "vip", "csrf_token": token_of(analyst)}
                        ).status_code == 403
