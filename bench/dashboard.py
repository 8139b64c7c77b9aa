"""The operator dashboard on a programme of 10,000 members with a year of activity.

    .venv/bin/python -m bench.dashboard [--members 10000] [--days 365] [--repeat 5]
    .venv/bin/python -m bench.dashboard --existing postgresql://postgres@127.0.0.1:5432/year_scratch

Seeds the programme (`flask seed-year`'s generator) in a throw-away database unless `--existing`
names one already seeded, then times, in the same run: the whole console page (figures, five SVG
charts, the HTML) for the last 30 days and for the whole year, the figures alone, and as the
baseline the liability books' single query over the same periods (one pass over the ledger). It also
checks that the dashboard's figures agree with the ledger, and that its kept days (`app.dashboard.rollup`,
built from nothing first and timed) equal the same figures computed live. Aim: the page under a second.
"""
from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import time
from datetime import timedelta

from sqlalchemy import text


def timed(fn, repeat: int) -> float:
    fn()  # warm
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


@contextlib.contextmanager
def existing_app(url: str):
    from app import create_app

    yield create_app({"database_url": url, "log_level": "WARNING"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--existing", help="a database already seeded by `flask seed-year`")
    args = parser.parse_args()
    from bench.common import bench_app

    with (existing_app(args.existing) if args.existing else bench_app()) as app:
        from app.dashboard import figures
        from app.extensions import db
        from app.operators.service import create
        from app.points import liability as books

        with app.app_context():
            if not args.existing:
                from app.demo_year import DemoYear

                started = time.perf_counter()
                year = DemoYear(args.members, args.days, 42)
                year.prepare()
                for _ in year.simulate():
                    pass
                for _ in year.load():
                    pass
                print(f"seeded {args.members} members x {args.days} days in {time.perf_counter() - started:.0f} s")
            counts = db.session.execute(text(
                "SELECT (SELECT count(*) FROM members), (SELECT count(*) FROM ledger_entries), "
                "(SELECT count(*) FROM checkins), (SELECT count(*) FROM mall_orders)")).one()
            print(f"members {counts[0]}, ledger entries {counts[1]}, check-ins {counts[2]}, orders {counts[3]}")
            last = db.session.scalar(text("SELECT max(created_at) FROM ledger_entries"))
            from app import clock

            clock.freeze(last + timedelta(minutes=1))
            month, whole = figures.Period.last(30), figures.Period.last(args.days)
            from app.operators.models import Operator

            if db.session.scalar(db.select(Operator.id).where(Operator.username == "bench-admin")) is None:
                create("bench-admin", "correct horse battery", "admin")

            # The kept days, built from nothing (what the first view after a deploy pays, once), then
            # compared day by day with the same figures computed live from the tables.
            from app.dashboard import rollup

            rollup.rebuild()
            started = time.perf_counter()
            rollup.refresh(whole.end)
            build = time.perf_counter() - started
            kept = rollup.days(whole.start, whole.end)
            live = rollup.compute(whole.start, whole.end)
            same = all({f: d[f] for f in rollup.FIELDS} == live[d["day"]] for d in kept)
            print(f"kept days built in {build * 1000:.0f} ms; kept days equal the live figures: {same}")

            # Agreement, checked against what the dashboard does not compute: the accounts' balances.
            # Over the whole history, what was issued less what left (spent, expired, deducted) is what
            # the members hold now; the daily series must add up to the period's books.
            first = db.session.scalar(text("SELECT min(created_at) FROM ledger_entries"))
            history = figures.Period(clock.business_date(first), month.end)
            flows = figures.points(history)
            held = flows["books"]["outstanding"]["total"]
            p = flows["books"]["period"]
            net = p["issued"] - p["spent"] - p["expired"] - p["deducted"]
            figures_month = figures.dashboard(month)
            daily_issued = sum(d["issued"] for d in figures_month["points"]["daily"])
            agree = (same and net == held and daily_issued == figures_month["points"]["books"]["period"]["issued"]
                     and figures_month["members"]["total"] == counts[0])
            print(f"figures agree with the ledger: {agree} (all time: issued {p['issued']} - spent {p['spent']} "
                  f"- expired {p['expired']} - deducted {p['deducted']} = {net}, members hold {held}; "
                  f"last 30 days issued {daily_issued})")

        client = app.test_client()
        page = client.get("/console/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        client.post("/console/login", data={"username": "bench-admin", "password": "correct horse battery",
                                            "csrf_token": token})

        def page_for(period):
            def load():
                response = client.get(f"/console/?start={period.start}&end={period.end}")
                assert response.status_code == 200 and response.get_data().count(b"<svg") >= 5
            return load

        with app.app_context():
            results = {
                "page, last 30 days": timed(page_for(month), args.repeat),
                "page, whole year": timed(page_for(whole), args.repeat),
                "figures, last 30 days": timed(lambda: figures.dashboard(month), args.repeat),
                "figures, whole year": timed(lambda: figures.dashboard(whole), args.repeat),
                "baseline: books query, 30 days": timed(lambda: books.liability(month.start_at, month.end_at), args.repeat),
                "baseline: books query, year": timed(lambda: books.liability(whole.start_at, whole.end_at), args.repeat),
            }
    for name, seconds in results.items():
        print(f"{name:34s} {seconds * 1000:8.1f} ms")
    print(f"page / books query: {results['page, last 30 days'] / results['baseline: books query, 30 days']:.1f}x (30 days), "
          f"{results['page, whole year'] / results['baseline: books query, year']:.1f}x (year); aim: page < 1000 ms")


if __name__ == "__main__":
    main()
