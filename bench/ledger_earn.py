"""Ledger write throughput on PostgreSQL, beside the plain statements it is built from.

    .venv/bin/python -m bench.ledger_earn [--seconds 5] [--threads 4] [--members 10000]

Measures, in one run and with the same threads, pool and driver:
  plain INSERT   one INSERT + COMMIT per transaction (the floor for any append-only write)
  plain UPDATE   one UPDATE of a single row + COMMIT (the floor for one hot member: its row lock)
  spread earns   `points.service.earn` for random members out of 10,000
  hot earns      `points.service.earn` for one member
and prints the ratios. Aims: spread >= 0.5 x INSERT; hot >= 0.7 x UPDATE.
"""
from __future__ import annotations

import argparse
import random
import uuid

from sqlalchemy import text

from bench.common import bench_app, rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--members", type=int, default=10_000)
    args = parser.parse_args()

    with bench_app() as app:
        from app.extensions import db
        from app.points import service
        from app.points.verify import verify

        with app.app_context():
            db.session.execute(text(
                "INSERT INTO members (appid, openid, status, gender, created_at, updated_at) "
                "SELECT 'wx-bench', 'o' || g, 'active', 0, now(), now() FROM generate_series(1, :n) g"), {"n": args.members})
            db.session.execute(text("CREATE TABLE bench_plain (id bigserial PRIMARY KEY, member_id bigint, amount bigint, created_at timestamptz)"))
            db.session.execute(text("CREATE TABLE bench_counter (id int PRIMARY KEY, n bigint)"))
            db.session.execute(text("INSERT INTO bench_counter VALUES (1, 0)"))
            db.session.commit()
            member_ids = [row[0] for row in db.session.execute(text("SELECT id FROM members ORDER BY id"))]
            service.earn(member_ids[0], 1, key="warm-up", reason_code="bench", reason="bench")
        hot = member_ids[0]

        def plain_insert(t, i):
            db.session.execute(text("INSERT INTO bench_plain (member_id, amount, created_at) VALUES (:m, 10, now())"),
                               {"m": random.choice(member_ids)})
            db.session.commit()

        def plain_update(t, i):
            db.session.execute(text("UPDATE bench_counter SET n = n + 1 WHERE id = 1"))
            db.session.commit()

        def spread_earn(t, i):
            service.earn(random.choice(member_ids), 10, key=uuid.uuid4().hex, reason_code="bench", reason="基准测试")

        def hot_earn(t, i):
            service.earn(hot, 10, key=uuid.uuid4().hex, reason_code="bench", reason="基准测试")

        results = {}
        for name, action in (("plain INSERT", plain_insert), ("spread earns", spread_earn),
                             ("plain UPDATE (one row)", plain_update), ("hot earns (one member)", hot_earn)):
            results[name] = rate(app, args.threads, args.seconds, action)
            print(f"{name:24} {results[name][0]:9.0f} /s  ({results[name][1]} in {args.seconds:.0f} s, {args.threads} threads)")

        spread = results["spread earns"][0] / results["plain INSERT"][0]
        hot_ratio = results["hot earns (one member)"][0] / results["plain UPDATE (one row)"][0]
        print(f"spread earns / plain INSERT = {spread:.2f}  (aim >= 0.50)")
        print(f"hot earns / plain UPDATE    = {hot_ratio:.2f}  (aim >= 0.70)")
        with app.app_context():
            problems = verify()
        print(f"ledger verify after the run: {'clean' if not problems else f'{len(problems)} discrepancies'}")


if __name__ == "__main__":
    main()
