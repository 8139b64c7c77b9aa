"""Liveness and readiness."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from sqlalchemy import text

from app.extensions import db, get_redis

bp = APIBlueprint("health", __name__, abp_tags=[Tag(name="运维")])


@bp.get("/healthz")
def healthz():
    """进程存活"""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """PostgreSQL 与 Redis 均可用时返回 200,否则 503 并指出哪一个失败"""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["postgres"] = "ok"
    except Exception as exc:  # any driver failure means "not ready"
        db.session.rollback()
        checks["postgres"] = f"error: {type(exc).__name__}"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    if not ready:
        failed = [name for name, v in checks.items() if v != "ok"]
        body["error"] = {"code": "not_ready", "message": f"依赖不可用: {', '.join(failed)}"}
    return body, 200 if ready else 503
