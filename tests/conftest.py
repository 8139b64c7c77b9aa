"""Test setup: real PostgreSQL, real Redis, the real WeChat sandbox over HTTP.

DATABASE_URL / REDIS_URL, when set, name servers to use (a fresh database is created on that
PostgreSQL for the session and dropped afterwards; the Redis database is flushed between tests).
When unset, embedded servers are started for the session. Every test starts from empty tables.
"""
from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis as redis_lib
from sqlalchemy import text
from werkzeug.serving import make_server

from app import clock, create_app, snapshots
from app.embedded import postgres_url, redis_url as embedded_redis_url, stop_postgres, stop_redis, to_sqlalchemy_url
from app.extensions import db
from app.wechat.sandbox import SandboxState, serve_in_thread

TEST_SECRET = "test-secret-" + "x" * 32


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    configured = os.environ.get("DATABASE_URL")
    if configured:
        name = f"members_test_{secrets.token_hex(4)}"
        admin = to_sqlalchemy_url(configured).replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(admin)
        yield to_sqlalchemy_url(urlunsplit(parts._replace(path=f"/{name}")))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        pgdata = Path(tempfile_dir(tmp_path_factory, "pg")) / "data"
        yield postgres_url(pgdata, database="members_test")
        stop_postgres(pgdata)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
    else:
        folder = Path(tempfile_dir(tmp_path_factory, "redis"))
        yield embedded_redis_url(folder)
        stop_redis(folder)


def tempfile_dir(factory, name: str) -> str:
    # unix sockets need short paths: keep these folders near the root of the temp dir
    return str(factory.mktemp(name, numbered=True))


@pytest.fixture(scope="session")
def sandbox():
    state = SandboxState()
    server, base_url = serve_in_thread(state)
    state.base_url = base_url
    yield state
    server.shutdown()


@pytest.fixture(scope="session")
def app(database_url, redis_url, sandbox):
    from flask_migrate import upgrade

    app = create_app({
        "app_env": "test", "database_url": database_url, "redis_url": redis_url,
        "wechat_api_base": sandbox.base_url, "secret_key": TEST_SECRET, "log_level": "WARNING",
    })
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(request):
    """Empty tables, an empty Redis, a fresh sandbox and the real clock, before every test that uses the app."""
    clock.unfreeze()
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    sandbox = request.getfixturevalue("sandbox")
    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        snapshots.invalidate()
        redis_lib.Redis.from_url(app.config["REDIS_URL"]).flushdb()
    app.extensions.pop("wechat_mini", None)
    app.extensions.pop("wechat_mp", None)
    sandbox.reset()
    yield
    clock.unfreeze()
    if "tampers_ledger" not in request.keywords:
        _assert_ledger_verifies(app)


def _assert_ledger_verifies(app) -> None:
    """After every test, the ledger verifier (what `flask ledger verify` runs) must find nothing."""
    from app.points.verify import verify

    with app.app_context():
        problems = verify()
        db.session.remove()
    assert not problems, "ledger verify: " + "; ".join(f"member {p.member_id}: {p.problem}" for p in problems)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An app context for calling services directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture(scope="session")
def live_server(app):
    """The app on a real threaded HTTP server, for tests that race real requests."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
