"""Shared set-up for benchmarks: a throw-away database on the configured (or an embedded)
PostgreSQL, migrated, and an app bound to it. Benchmarks are run by hand, never by the suite."""
from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from app.embedded import postgres_url, redis_url, stop_postgres, stop_redis, to_sqlalchemy_url


@contextlib.contextmanager
def bench_app(**overrides) -> Iterator:
    """An app on a fresh, migrated database (dropped afterwards)."""
    from flask_migrate import upgrade

    from app import create_app

    with contextlib.ExitStack() as stack:
        configured = os.environ.get("DATABASE_URL")
        if configured:
            admin = to_sqlalchemy_url(configured).replace("postgresql+psycopg://", "postgresql://")
            name = f"bench_{secrets.token_hex(4)}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            url = to_sqlalchemy_url(urlunsplit(urlsplit(admin)._replace(path=f"/{name}")))

            def drop():
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            stack.callback(drop)
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench")))
            url = postgres_url(folder / "pg", database="bench")
            stack.callback(stop_postgres, folder / "pg")
        rurl = os.environ.get("REDIS_URL")
        if not rurl:
            rfolder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="benchr")))
            rurl = redis_url(rfolder)
            stack.callback(stop_redis, rfolder)
        app = create_app({"app_env": "test", "database_url": url, "redis_url": rurl, "log_level": "WARNING",
                          "db_pool_size": 32, **overrides})
        with app.app_context():
            upgrade()
        yield app
        with app.app_context():
            from app.extensions import db
            db.engine.dispose()


def rate(app, threads: int, seconds: float, action: Callable[[int, int], None]) -> tuple[float, int]:
    """Run `action(thread, i)` in `threads` threads, each with its own app context, for `seconds`.
    Returns (operations per second, operations)."""
    counts = [0] * threads
    barrier = threading.Barrier(threads + 1)
    stop = threading.Event()

    def worker(t: int) -> None:
        with app.app_context():
            barrier.wait()
            i = 0
            while not stop.is_set():
                action(t, i)
                i += 1
            counts[t] = i
            from app.extensions import db
            db.session.remove()

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    return sum(counts) / elapsed, sum(counts)
