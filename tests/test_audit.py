"""Every change an operator makes is in the audit log: who, what, before and after."""
from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from tests.support import login, operator_headers, seed_rules


def entries(app, table: str | None = None) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        if table:
            query = query.where(AuditEntry.target_table == table)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows


def test_a_settings_change_is_recorded_with_before_and_after(app, client):
    ops = operator_headers(app, client)
    client.get("/api/v1/admin/programme", headers=ops)
    assert client.patch("/api/v1/admin/programme", json={"points_name": "巧乐值"}, headers=ops).status_code == 200
    [entry] = entries(app, "programme")
    assert entry.change == "update" and entry.action == "PATCH /api/v1/admin/programme"
    assert entry.before == {"points_name": "积分"} and entry.after == {"points_name": "巧乐值"}
    assert entry.operator_id is not None


def test_an_adjustment_records_the_entry_and_the_balance(app, client):
    with app.app_context():
        seed_rules()
    member = login(client, "alice")["member"]["id"]
    ops = operator_headers(app, client)
    response = client.post(f"/api/v1/admin/members/{member}/adjustments", headers={**ops, "Idempotency-Key": "adjust-0001"},
                           json={"amount": 50, "reason": "补偿:活动积分未到账"})
    assert response.status_code == 201
    [created] = entries(app, "ledger_entries")
    assert created.change == "create" and created.after["reason"] == "补偿:活动积分未到账"
    assert created.after["amount"] == 50 and created.after["balance"] == created.before["balance"] + 50
    again = client.post(f"/api/v1/admin/members/{member}/adjustments", headers={**ops, "Idempotency-Key": "adjust-0001"},
                        json={"amount": 50, "reason": "补偿:活动积分未到账"})
    assert again.status_code == 200 and len(entries(app, "ledger_entries")) == 1  # a replay changes nothing


def test_reads_failures_and_members_leave_no_trace(app, client):
    ops = operator_headers(app, client, role="analyst")
    assert client.patch("/api/v1/admin/programme", json={"points_name": "x"}, headers=ops).status_code == 403
    assert client.patch("/api/v1/admin/programme", json={"points_per_yuan": 0},
                        headers=operator_headers(app, client)).status_code == 422
    login(client, "bob")  # a member's own changes are not operator changes
    assert entries(app) == []


def test_secrets_never_reach_the_log(app, client):
    ops = operator_headers(app, client)
    response = client.post("/api/v1/admin/integrations", json={"name": "ERP"}, headers=ops)
    assert response.status_code == 201, response.get_json()
    secret = response.get_json()["secret"]
    logged = [e.after for e in entries(app)]
    assert logged and secret not in str(logged)
