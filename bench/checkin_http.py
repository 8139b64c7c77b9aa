"""Check-ins per second through the HTTP API under gunicorn, beside a bare endpoint doing one INSERT.

    .venv/bin/python -m bench.checkin_http [--seconds 20] [--rounds 4] [--connections 16] [--workers 2] [--threads 4]

Both apps run under identical gunicorn settings on the same PostgreSQL, side by side, and are driven
by the same client (a pool of Python threads with keep-alive sessions) in alternating rounds of
equal length, so both are measured under the same conditions. Each check-in request
is a different member (one check-in per member per day), so every request does the full work:
token, rules, caps, streak, ledger entry, lot, growth and the level check (the demo ladder). Aim: check-in >= 0.5 x bare.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from sqlalchemy import func, select, text

from bench.common import bench_app

SECRET = "bench-secret-" + "x" * 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(target: str, env: dict, workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen([gunicorn, "--workers", str(workers), "--threads", str(threads), "--bind",
                             f"127.0.0.1:{port}", "--log-level", "warning", target], env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(url + "/healthz", timeout=1)
            return proc, url
        except requests.RequestException:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"{target} did not start")


def drive(url: str, headers_for, connections: int, seconds: float) -> tuple[float, int, int]:
    """Send POSTs from `connections` threads for `seconds`; return (2xx per second, 2xx, errors)."""
    ok = [0] * connections
    errors = [0] * connections
    stop = threading.Event()
    start = threading.Barrier(connections + 1)

    def worker(n: int) -> None:
        session = requests.Session()
        start.wait()
        i = 0
        while not stop.is_set():
            response = session.post(url, headers=headers_for(n, i), timeout=30)
            if response.status_code in (200, 201):
                ok[n] += 1
            else:
                errors[n] += 1
            i += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for thread in pool:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    return sum(ok) / (time.perf_counter() - began), sum(ok), sum(errors)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0, help="per server, over all rounds")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--members", type=int, default=30_000)
    args = parser.parse_args()

    with bench_app(secret_key=SECRET) as app:
        from app.auth import tokens
        from app.checkin.models import Checkin
        from app.checkin.service import settings as checkin_settings
        from app.earning.rules import seed_rules
        from app.extensions import db
        from app.levels.admin import seed_levels
        from app.levels.service import definitions
        from app.points.verify import verify
        from app.taskcenter.service import seed_tasks

        with app.app_context():
            seed_rules()
            seed_tasks()
            seed_levels()
            checkin_settings()
            db.session.execute(text(
                "INSERT INTO members (appid, openid, status, gender, created_at, updated_at) "
                "SELECT 'wx-bench', 'o' || g, 'active', 0, now(), now() FROM generate_series(1, :n) g"),
                {"n": args.members})
            db.session.execute(text(  # registered members sit at the lowest level, as after their first login
                "INSERT INTO member_levels (member_id, level_code, reached_at) SELECT id, :code, now() FROM members"),
                {"code": definitions()[0].code})
            db.session.execute(text("CREATE TABLE bench_bare (id bigserial PRIMARY KEY, created_at timestamptz)"))
            db.session.commit()
            ids = [row[0] for row in db.session.execute(text("SELECT id FROM members ORDER BY id"))]
            bearer = [f"Bearer {tokens.issue('member', member_id, 3600).token}" for member_id in ids]
            database_url = app.config["SQLALCHEMY_DATABASE_URI"]
            redis_url = app.config["REDIS_URL"]

        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET,
               "APP_ENV": "development", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(Path.cwd())}
        print(f"gunicorn --workers {args.workers} --threads {args.threads}; client: {args.connections} Python "
              f"threads with keep-alive, {args.rounds} alternating rounds, {args.seconds:.0f} s each in all; "
              "PostgreSQL and Redis on this machine")

        # Both servers run side by side and are driven in alternating rounds, so that both rates are
        # measured under the same conditions (anything else the machine does affects both alike).
        stride = len(bearer) // args.connections
        sent = [0] * args.connections

        def member_headers(n, i):  # a different member every request, across rounds too
            sent[n] += 1
            return {"Authorization": bearer[n * stride + sent[n] % stride]}

        targets = (("bare INSERT", "bench.checkin_bare_app:app", "/bare", lambda n, i: {}),
                   ("check-in", "wsgi:app", "/api/v1/checkins", member_headers))
        servers = [serve(target, env, args.workers, args.threads) for _, target, _, _ in targets]
        totals = {name: [0.0, 0, 0] for name, *_ in targets}
        ratios = []
        try:
            window = args.seconds / args.rounds
            for _ in range(args.rounds):
                rates = {}
                for (name, _, path, headers), (_, url) in zip(targets, servers):
                    rate, done, errors = drive(url + path, headers, args.connections, window)
                    rates[name] = rate
                    totals[name][0] += done / rate if rate else window
                    totals[name][1] += done
                    totals[name][2] += errors
                ratios.append(rates["check-in"] / rates["bare INSERT"])
        finally:
            for proc, _ in servers:
                proc.terminate()
                proc.wait(timeout=30)
        results = {}
        for name, (elapsed, done, errors) in totals.items():
            results[name] = (done / elapsed, done, errors)
            print(f"{name:12} {done / elapsed:8.0f} /s  ({done} in {elapsed:.0f} s, {errors} errors)")
        print(f"check-in / bare INSERT = {results['check-in'][0] / results['bare INSERT'][0]:.2f}  (aim >= 0.50); "
              f"per round: {', '.join(f'{r:.2f}' for r in ratios)}")
        with app.app_context():
            rows = db.session.scalar(select(func.count()).select_from(Checkin))
            problems = verify()
        print(f"check-in rows {rows} = 201 answers {results['check-in'][1]}: {rows == results['check-in'][1]}; "
              f"ledger verify {'clean' if not problems else f'{len(problems)} discrepancies'}")


if __name__ == "__main__":
    main()
