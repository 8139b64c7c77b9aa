"""`flask --app wsgi devstack` (what `make run` calls): the whole service on one machine.

Migrates, seeds the demo programme, then starts the WeChat sandbox, the API (gunicorn), an RQ worker
and the scheduler as child processes sharing one PostgreSQL and one Redis (embedded unless DATABASE_URL / REDIS_URL are set),
prints the URLs, and on Ctrl-C (or SIGTERM) stops everything it started.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import requests
from flask import current_app
from flask.cli import with_appcontext


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return sock.connect_ex((host, port)) != 0


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _wait_for(url: str, seconds: float, procs: list[subprocess.Popen]) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            if requests.get(url, timeout=1).ok:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.3)
    return False


@click.command("devstack")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=lambda: int(os.environ.get("PORT", "8000")), type=int, help="API port ($PORT, default 8000)")
@with_appcontext
def devstack(host: str, port: int) -> None:
    """Run the API, the WeChat sandbox and the background processes, with a migrated, seeded database."""
    from flask_migrate import upgrade

    from app.demo import seed
    from app.embedded import stop_postgres, stop_redis
    from app.extensions import db

    settings = current_app.config["SETTINGS"]
    instance = Path(current_app.instance_path)
    env = dict(os.environ)
    env["DATABASE_URL"] = current_app.config["SQLALCHEMY_DATABASE_URI"]
    env["REDIS_URL"] = current_app.config["REDIS_URL"]
    env.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")  # where the sandbox posts payment notices

    click.echo("migrating the database ...")
    upgrade()
    for line in seed():
        click.echo(f"  {line}")

    children: list[tuple[str, subprocess.Popen]] = []
    python = sys.executable
    if settings.uses_wechat_sandbox and not settings.wechat_api_base:
        sandbox_port = settings.sandbox_port
        if not _port_free(settings.sandbox_host, sandbox_port):
            sandbox_port = _free_port(settings.sandbox_host)
        env["SANDBOX_PORT"] = str(sandbox_port)
        children.append(("wechat-sandbox", subprocess.Popen(
            [python, "-m", "app.wechat.sandbox", "--host", settings.sandbox_host, "--port", str(sandbox_port)], env=env)))
    sandbox_url = f"http://{settings.sandbox_host}:{env.get('SANDBOX_PORT', settings.sandbox_port)}/"

    flask = str(Path(python).with_name("flask"))
    children.append(("worker", subprocess.Popen([flask, "--app", "wsgi", "worker"], env=env)))
    children.append(("scheduler", subprocess.Popen([flask, "--app", "wsgi", "scheduler"], env=env)))

    gunicorn = str(Path(python).with_name("gunicorn"))
    children.append(("api", subprocess.Popen(
        [gunicorn, "--workers", "2", "--threads", "4", "--bind", f"{host}:{port}", "--access-logfile", "-", "wsgi:app"],
        env=env)))

    def stop(*_args) -> None:
        for _name, proc in reversed(children):
            if proc.poll() is None:
                proc.terminate()
        for _name, proc in children:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        db.session.remove()
        db.engine.dispose()  # close our connections before the embedded server goes away
        if not settings.redis_url:
            stop_redis(instance / "redis")
        if not settings.database_url:
            stop_postgres(instance / "pgdata")
        click.echo("stopped.")
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    api = f"http://{host}:{port}"
    if not _wait_for(f"{api}/healthz", 60, [p for _, p in children]):
        click.echo("the API did not come up; stopping.", err=True)
        stop()
    click.echo("")
    click.echo(f"  API            {api}/api/v1   (health {api}/healthz, ready {api}/readyz)")
    click.echo(f"  Console        {api}/console/   (operators; the demo admin is printed above)")
    click.echo(f"  API docs       {api}/api/swagger   (OpenAPI JSON {api}/api/openapi.json)")
    if settings.uses_wechat_sandbox and not settings.wechat_api_base:
        click.echo(f"  WeChat sandbox {sandbox_url}_sandbox/   (what would have been sent to WeChat)")
    click.echo("  Jobs           an RQ worker (queues default, pushes, maintenance) and the scheduler are running")
    click.echo("  Try:           curl -s -XPOST %s/api/v1/auth/login -H 'Content-Type: application/json' -d '{\"code\":\"alice.1\"}'" % api)
    click.echo("  Ctrl-C stops everything.")
    while True:
        for name, proc in children:
            if proc.poll() is not None:
                click.echo(f"{name} exited with {proc.returncode}; stopping.", err=True)
                stop()
        time.sleep(1)
