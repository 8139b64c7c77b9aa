"""Health, readiness, configuration and the API description."""
from __future__ import annotations

import pytest

from config import ConfigError, load_settings


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"postgres": "ok", "redis": "ok"}


def test_readyz_names_the_failed_dependency(app, client, monkeypatch):
    import redis

    monkeypatch.setitem(app.extensions, "redis", redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1))
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["postgres"] == "ok" and body["checks"]["redis"].startswith("error")
    assert "redis" in body["error"]["message"]


def test_development_defaults_need_nothing(monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "WECHAT_APPID", "WECHAT_SECRET", "APP_ENV"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.app_env == "development" and settings.uses_wechat_sandbox
    assert settings.effective_wechat_api_base == "http://127.0.0.1:8900/"


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL", "WECHAT_APPID"])
def test_production_refuses_to_start_without_its_services(monkeypatch, missing):
    env = {"APP_ENV": "production", "SECRET_KEY": "s" * 40, "DATABASE_URL": "postgresql://db/x",
           "REDIS_URL": "redis://r:6379/0", "WECHAT_APPID": "wx1", "WECHAT_SECRET": "sec"}
    env.pop(missing)
    for name in ("DATABASE_URL", "REDIS_URL", "WECHAT_APPID", "WECHAT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=missing):
        load_settings()


def test_production_refuses_the_default_secret(monkeypatch):
    for name, value in {"APP_ENV": "production", "DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://r/0",
                        "WECHAT_APPID": "wx1", "WECHAT_SECRET": "sec"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings()


def test_bad_setting_values_are_named(monkeypatch):
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="TIMEZONE"):
        load_settings()


def test_openapi_document_describes_the_api(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/auth/login", "/api/v1/me", "/api/v1/me/phone", "/healthz", "/readyz"):
        assert path in spec["paths"], path
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert "requestBody" in login and "200" in login["responses"]
    assert spec["components"]["securitySchemes"]["member"]["scheme"] == "bearer"


def test_every_api_route_is_in_the_openapi_document(app, client):
    import re

    documented = set(client.get("/api/openapi.json").get_json()["paths"])
    routes = {re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1")}
    assert routes - documented == set()


def test_browsable_docs_page(client):
    response = client.get("/api/swagger")
    assert response.status_code == 200 and b"swagger" in response.data.lower()


def test_migrations_match_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_demo_seed_runs_twice_and_changes_nothing_the_second_time(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "already there" in second.output
    from sqlalchemy import func, select

    from app.extensions import db
    from app.points.models import LedgerEntry
    from mall.models import Item
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Item)) == 6
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 4  # two members x (points, growth)
