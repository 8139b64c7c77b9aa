"""A member-day push to many members through the WeChat sandbox, end to end with one RQ worker:
batched jobs (500 messages each) beside one job per message, in the same run.

    .venv/bin/python -m bench.member_day_push [--members 100000] [--sample 2000]

Both variants: the run is created and fanned out by `tasks.campaigns` / `tasks.delivery`, then ONE
`flask worker --burst` process (forking a work horse per job, as in production) sends everything
through the sandbox (a separate process) over HTTP with wechatpy. The batched variant reaches all
`--members`; the one-job-per-message variant is timed on `--sample` members (so it ends in minutes)
and its time for all members is extrapolated from that rate, and printed as such. Aim: batching at
least 20 times faster. Uses DATABASE_URL / REDIS_URL when set, else embedded servers.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from sqlalchemy import func, select, text

from bench.checkin_http import free_port
from bench.common import bench_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000)
    args = parser.parse_args()

    port = free_port()
    sandbox = subprocess.Popen([sys.executable, "-m", "app.wechat.sandbox", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    for _ in range(100):
        try:
            requests.get(base + "healthz", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.1)
    try:
        with bench_app(wechat_api_base=base) as app:
            from app.extensions import db
            from tasks import delivery
            from tasks.demo import seed_templates
            from tasks.models import PushRun

            with app.app_context():
                seed_templates()
                total = args.members + args.sample
                db.session.execute(text(
                    "INSERT INTO members (appid, openid, status, gender, nickname, created_at, updated_at) "
                    "SELECT 'wx-bench', 'o-bench-' || g, 'active', 0, '会员' || g, now(), now() "
                    "FROM generate_series(1, :n) g"), {"n": total})
                db.session.execute(text(
                    "INSERT INTO subscribe_grants (member_id, template_code, remaining, updated_at) "
                    "SELECT id, 'member_day', 1, now() FROM members"))
                db.session.commit()
                ids = list(db.session.scalars(select(text("id")).select_from(text("members")).order_by(text("id"))))
                env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                       "REDIS_URL": app.config["REDIS_URL"], "WECHAT_API_BASE": base, "LOG_LEVEL": "WARNING",
                       "PYTHONPATH": str(Path.cwd())}

            def run(name: str, members: list[int], batch_size: int) -> tuple[float, int]:
                started = time.perf_counter()
                with app.app_context():
                    run_id = delivery.start_run("member_day", name, "member_day",
                                                [(m, {"multiplier": "2", "date": "bench"}) for m in members])
                    jobs = delivery.fan_out(run_id, batch_size=batch_size)
                flask = str(Path(sys.executable).with_name("flask"))
                subprocess.run([flask, "--app", "wsgi", "worker", "--burst", "--queues", "pushes"], env=env,
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                elapsed = time.perf_counter() - started
                with app.app_context():
                    summary = delivery.summarize(run_id)
                print(f"{name:22} {len(members):7} members, {jobs:6} jobs: {summary['sent']} sent, "
                      f"{summary['failed']} failed in {elapsed:7.1f} s = {summary['sent'] / elapsed:7.0f} messages/s")
                return summary["sent"] / elapsed, summary["sent"]

            per_message, _ = run("one job per message", ids[:args.sample], 1)
            batched, sent = run("batches of 500", ids[args.sample:], 500)
            print(f"batched / one job per message = {batched / per_message:.1f}x  (aim >= 20x)")
            print(f"time to reach all {args.members} members: {args.members / batched:.0f} s batched; "
                  f"{args.members / per_message:.0f} s with one job per message (extrapolated from "
                  f"{args.sample} members)")
            with app.app_context():
                sent, members = db.session.execute(text(
                    "SELECT count(*), count(DISTINCT member_id) FROM send_log WHERE status = 'sent'")).one()
                print(f"send log: {sent} messages sent to {members} distinct members of {args.members + args.sample}")
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


if __name__ == "__main__":
    main()
