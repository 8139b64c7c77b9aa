"""Where a hot member's earn spends its row lock: the earn's one statement sent by raw psycopg (no
SQLAlchemy, no Python service code) beside a one-row counter UPDATE, from the same threads, in
alternating rounds. A diagnosis for `bench.ledger_earn`'s hot-member ratio, not a product path.

    .venv/bin/python -m bench.ledger_hot_sql [--seconds 12] [--rounds 3] [--threads 4]

Variants of the earn: in a transaction (BEGIN, statement, COMMIT: what the product does), the
statement pipelined with its COMMIT (one round trip fewer under the lock), and in autocommit (the
statement commits itself).
"""
from __future__ import annotations

import argparse
import re
import threading
import time
import uuid
from datetime import datetime, timezone

import psycopg

from bench.common import bench_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=12.0, help="per variant, over all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    with bench_app() as app:
        from app.points import service

        url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True) as conn:
            member_id = conn.execute(
                "INSERT INTO members (appid, openid, status, gender, created_at, updated_at) "
                "VALUES ('wx-bench', 'o-hot', 'active', 0, now(), now()) RETURNING id").fetchone()[0]
            conn.execute("CREATE TABLE bench_counter (id int PRIMARY KEY, n bigint)")
            conn.execute("INSERT INTO bench_counter VALUES (1, 0)")
        # the service's statement, with psycopg's placeholders instead of SQLAlchemy's
        earn = re.sub(r"(?<!:):(\w+)", r"%(\1)s", service._EARN_SQL.text)
        params = {"member_id": member_id, "fingerprint": "bench", "kind": "earn", "bucket": "available", "points": 10,
                  "growth": 0, "available": 10, "pending": 0, "reason_code": "bench", "reason": "基准测试",
                  "source_type": None, "source_id": None, "operator_id": None, "available_at": None, "expires_at": None}

        def counter(conn):
            conn.execute("UPDATE bench_counter SET n = n + 1 WHERE id = 1")
            conn.commit()

        def in_transaction(conn):
            conn.execute(earn, {**params, "key": uuid.uuid4().hex, "now": datetime.now(timezone.utc)}).fetchall()
            conn.commit()

        def pipelined(conn):
            with conn.pipeline():
                cursor = conn.execute(earn, {**params, "key": uuid.uuid4().hex, "now": datetime.now(timezone.utc)})
                conn.commit()
            cursor.fetchall()

        def autocommit(conn):
            conn.execute(earn, {**params, "key": uuid.uuid4().hex, "now": datetime.now(timezone.utc)}).fetchall()

        variants = {"counter UPDATE (baseline)": (counter, False), "earn, BEGIN/COMMIT": (in_transaction, False),
                    "earn, pipelined COMMIT": (pipelined, False), "earn, autocommit": (autocommit, True)}

        def run(action, auto: bool, seconds: float) -> int:
            counts, stop = [0] * args.threads, threading.Event()

            def worker(t: int) -> None:
                with psycopg.connect(url, autocommit=auto) as conn:
                    while not stop.is_set():
                        action(conn)
                        counts[t] += 1

            pool = [threading.Thread(target=worker, args=(t,)) for t in range(args.threads)]
            for thread in pool:
                thread.start()
            time.sleep(seconds)
            stop.set()
            for thread in pool:
                thread.join()
            return sum(counts)

        window = args.seconds / args.rounds
        done = dict.fromkeys(variants, 0)
        for _ in range(args.rounds):
            for name, (action, auto) in variants.items():
                done[name] += run(action, auto, window)
        base = done["counter UPDATE (baseline)"]
        print(f"one member, {args.threads} threads, {args.rounds} alternating rounds, {args.seconds:.0f} s per variant")
        for name, count in done.items():
            print(f"{name:28} {count / args.seconds:8.0f} /s   ratio to the baseline {count / base:.2f}")


if __name__ == "__main__":
    main()
