"""A store manager's dashboard: their store's counter figures over a period, clerks, and waiting pickups."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.operators.models import Operator, OperatorStore
from tests.support import auth, staff_headers
from tests.test_console import sign_in
from tests.test_counter import shop  # noqa: F401  (the fixture: two stores, a pickup order at the first)


def kpi(page: str, name: str) -> str:
    return re.search(rf'id="kpi-{name}">([^<]*)<', page).group(1)


def test_a_store_manager_sees_their_counter_figures(app, client, shop):  # noqa: F811
    here = shop["here"]
    manager = sign_in(app, "store_manager", "manager-here")
    with app.app_context():
        operator = db.session.scalar(select(Operator).where(Operator.username == "manager-here"))
        db.session.add(OperatorStore(operator_id=operator.id, store_id=here))
        db.session.commit()
    before = manager.get(f"/console/stores/{here}").get_data(as_text=True)
    assert kpi(before, "waiting") == "1" and kpi(before, "pickups") == "0"

    clerk = staff_headers(app, client, [here])
    code = shop["order"]["pickup_code"]
    assert client.post("/api/v1/staff/verifications/confirm", json={"code": code, "store_id": here},
                       headers=clerk).status_code == 200
    member_code = client.get("/api/v1/me/member-code", headers=auth(shop["member"])).get_json()["code"]
    assert client.post("/api/v1/staff/points/award", headers={**clerk, "Idempotency-Key": "award-000001"},
                       json={"member_code": member_code, "store_id": here, "amount_cents": 25_800,
                             "receipt_no": "R-001"}).status_code == 201

    page = manager.get(f"/console/stores/{here}").get_data(as_text=True)
    assert kpi(page, "pickups") == "1" and kpi(page, "awards") == "1" and kpi(page, "served") == "1"
    assert kpi(page, "waiting") == "0"
    assert "共 258" in page  # the purchase points given at the counter
    assert '<table id="clerks">' in page and "<td>1</td>" in page
    assert manager.get(f"/console/stores/{shop['there']}").status_code == 403
    assert manager.get(f"/console/stores/{here}?start=2026-13-01").status_code == 400
