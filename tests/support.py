"""Small helpers the tests share: log a sandbox user in, build auth headers."""
from __future__ import annotations

import itertools

_codes = itertools.count(1)


def login_code(name: str) -> str:
    """A fresh sandbox login code for user `name` (each code works once, like WeChat's)."""
    return f"{name}.{next(_codes)}"


def login(client, name: str = "alice", **extra) -> dict:
    response = client.post("/api/v1/auth/login", json={"code": login_code(name), **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def auth(token_or_login) -> dict:
    token = token_or_login["token"] if isinstance(token_or_login, dict) else token_or_login
    return {"Authorization": f"Bearer {token}"}


def member_headers(client, name: str = "alice") -> dict:
    return auth(login(client, name))


def operator_headers(app, client, role: str = "admin", username: str | None = None) -> dict:
    """Create an operator with `role` and return bearer headers for them."""
    from app.operators.service import create

    username = username or f"{role}-op"
    with app.app_context():
        create(username, "correct horse battery", role)
    response = client.post("/api/v1/admin/auth/login", json={"username": username, "password": "correct horse battery"})
    assert response.status_code == 200, response.get_json()
    return auth(response.get_json()["token"])


def make_member(name: str = "m") -> int:
    """Insert a member directly (inside an app context) and return its id."""
    from app.extensions import db
    from app.members.models import Member

    member = Member(appid="wx-test", openid=f"openid-{name}-{next(_codes)}")
    db.session.add(member)
    db.session.commit()
    return member.id


def seed_rules() -> None:
    """The demo programme's earn rules, tasks and check-in table (inside an app context)."""
    from app.checkin.service import settings
    from app.earning.rules import seed_rules as seed
    from app.extensions import db
    from app.taskcenter.service import seed_tasks

    seed()
    seed_tasks()
    settings()
    db.session.commit()


def seed_levels() -> None:
    """The demo programme's levels (inside an app context)."""
    from app.levels.admin import seed_levels as seed

    seed()


def make_item(**fields) -> int:
    """A mall item on sale (inside an app context); pickup items are held at the given stores."""
    from mall.items import save

    spec = {"sku": f"SKU{next(_codes)}", "kind": "delivery", "category": "gifts", "title": "保温杯",
            "points_price": 100, "total_stock": 10, "status": "on_sale", **fields}
    return save(spec).id


def make_store(code: str = "SH01") -> int:
    from app.staff.service import create_store

    return create_store(code, f"门店 {code}", "上海").id


def staff_headers(app, client, store_ids: list[int], username: str = "clerk", role: str = "clerk") -> dict:
    from app.staff.service import create_staff

    with app.app_context():
        create_staff(username, "counter-pass-1", role, store_ids)
    response = client.post("/api/v1/staff/auth/login", json={"username": username, "password": "counter-pass-1"})
    assert response.status_code == 200, response.get_json()
    return auth(response.get_json()["token"])


ADDRESS = {"name": "张三", "phone": "13800138000", "region": "上海市静安区", "detail": "南京西路 1 号"}
