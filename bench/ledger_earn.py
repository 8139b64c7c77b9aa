"""Ledger write throughput on PostgreSQL, beside the plain statements it is built from.

    .venv/bin/python -m bench.ledger_earn [--seconds 20] [--rounds 4] [--threads 4] [--members 10000]

Measures, in one run and with the same threads, pool and driver:
  plain INSERT   one INSERT + COMMIT per transaction (the floor for any append-only write)
  plain UPDATE   one UPDATE of a single row + COMMIT (the floor for one hot member: its row lock)
  spread earns   `points.service.earn` for random members out of 10,000
  hot earns      `points.service.earn` for one member
in alternating rounds (baseline, then feature), and prints the ratios overall and per round.
Aims: spread >= 0.5 x INSERT; hot >= 0.7 x UPDATE.
"""
from __future__ import annotations

import argparse
import random
import uuid

from sqlalchemy import text

from bench.common import bench_app, rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="per measurement, over all rounds (rounds of 2 s were mostly warm-up and varied 0.3 to 0.65)")
    parser.add_argument("--rounds", type=int, default=4)
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

        # Each pair (baseline, feature) runs in alternating rounds, so a busy neighbour or a warming
        # cache weighs on both alike; the totals give the rates and each round its own ratio.
        pairs = ((("plain INSERT", plain_insert), ("spread earns", spread_earn)),
                 (("plain UPDATE (one row)", plain_update), ("hot earns (one member)", hot_earn)))
        window = args.seconds / args.rounds
        totals = {name: [0, 0.0] for pair in pairs for name, _ in pair}
        ratios: dict[str, list[float]] = {pair[1][0]: [] for pair in pairs}
        for _ in range(args.rounds):
            for (base_name, base), (name, action) in pairs:
                base_rate, base_count = rate(app, args.threads, window, base)
                feature_rate, feature_count = rate(app, args.threads, window, action)
                totals[base_name][0] += base_count
                totals[base_name][1] += base_count / base_rate if base_rate else 0
                totals[name][0] += feature_count
                totals[name][1] += feature_count / feature_rate if feature_rate else 0
                ratios[name].append(feature_rate / base_rate)
        results = {name: count / elapsed for name, (count, elapsed) in totals.items()}
        for name, per_second in results.items():
            print(f"{name:24} {per_second:9.0f} /s  ({totals[name][0]} in {args.seconds:.0f} s over {args.rounds} rounds, "
                  f"{args.threads} threads)")

        spread = results["spread earns"] / results["plain INSERT"]
        hot_ratio = results["hot earns (one member)"] / results["plain UPDATE (one row)"]
        print(f"spread earns / plain INSERT = {spread:.2f}  (aim >= 0.50; per round: "
              f"{', '.join(f'{r:.2f}' for r in ratios['spread earns'])})")
        print(f"hot earns / plain UPDATE    = {hot_ratio:.2f}  (aim >= 0.70; per round: "
              f"{', '.join(f'{r:.2f}' for r in ratios['hot earns (one member)'])})")
        with app.app_context():
            problems = verify()
        print(f"ledger verify after the run: {'clean' if not problems else f'{len(problems)} discrepancies'}")


if __name__ == "__main__":
    main()
