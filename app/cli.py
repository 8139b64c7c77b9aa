"""Flask CLI commands: `flask --app wsgi <command>`."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext


def register(app: Flask) -> None:
    from app.devstack import devstack

    app.cli.add_command(seed_demo)
    app.cli.add_command(seed_year)
    app.cli.add_command(devstack)
    app.cli.add_command(ledger)
    app.cli.add_command(create_operator)
    app.cli.add_command(earning)
    app.cli.add_command(create_integration)
    app.cli.add_command(levels)
    app.cli.add_command(mall)
    app.cli.add_command(worker)
    app.cli.add_command(scheduler)
    app.cli.add_command(jobs)
    app.cli.add_command(imports)
    app.cli.add_command(dashboard)


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Seed the demo programme (idempotent: running it again changes nothing)."""
    from app.demo import seed

    for line in seed():
        click.echo(line)


@click.command("seed-year")
@click.option("--members", default=10_000, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=365, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=42, show_default=True)
@with_appcontext
def seed_year(members: int, days: int, seed: int) -> None:
    """Seed a large demo programme: MEMBERS members with DAYS days of activity (an empty database only)."""
    from app.demo_year import DemoYear, PopulatedDatabase

    year = DemoYear(members, days, seed)
    try:
        lines = year.prepare()
    except PopulatedDatabase as exc:
        raise click.ClickException(str(exc)) from exc
    for line in lines:
        click.echo(line)
    with click.progressbar(year.simulate(), length=days + 1, label="simulating") as days_done:
        for _ in days_done:
            pass
    with click.progressbar(year.load(), length=year.load_steps, label="loading") as tables:
        for _ in tables:
            pass
    for line in year.summary.lines():
        click.echo(line)


@click.command("create-operator")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "operator", "analyst", "store_manager"]), default="operator")
@click.password_option()
@with_appcontext
def create_operator(username: str, role: str, password: str) -> None:
    """Create an operator account for the console and the operator API."""
    from app.operators.service import create

    operator = create(username, password, role)
    click.echo(f"operator {operator.username} ({operator.role}) created, id {operator.id}")


ledger = AppGroup("ledger", help="The points ledger: verify, expire, release.")


@ledger.command("verify")
def ledger_verify() -> None:
    """Recompute every account from its entries and lots; exit 1 if any differs."""
    from app.points.verify import verify

    problems = verify()
    for problem in problems:
        click.echo(f"member {problem.member_id}: {problem.problem}")
    if problems:
        click.echo(f"{len(problems)} discrepancies", err=True)
        sys.exit(1)
    click.echo("ledger verified: every account matches its entries and lots")


@ledger.command("expire")
def ledger_expire() -> None:
    """Expire every lot past its expiry, release every pending hold that has ended, and forfeit
    what closed accounts still hold."""
    from app.points.maintenance import expire_due_lots, forfeit_closed_accounts, release_due_pending

    released = release_due_pending()
    expired = expire_due_lots()
    forfeited = forfeit_closed_accounts()
    click.echo(f"released {released['points']} points in {released['lots']} lots; "
               f"expired {expired['points']} points in {expired['lots']} lots; "
               f"forfeited {forfeited['points']} points of closed accounts in {forfeited['lots']} lots")


dashboard = AppGroup("dashboard", help="The console's dashboard: its kept days.")


@dashboard.command("rebuild")
def dashboard_rebuild() -> None:
    """Drop the dashboard's kept days and compute every settled day again from the tables."""
    from app import clock
    from app.dashboard import rollup

    rollup.rebuild()
    through = rollup.refresh(clock.today())
    click.echo(f"dashboard days kept through {through}" if through else "no settled day to keep yet")


earning = AppGroup("earning", help="Earning: anti-farming checks.")


@earning.command("flag-farming")
@click.option("--days", default=7, show_default=True)
def earning_flag_farming(days: int) -> None:
    """Flag members who hit an earning cap on each of the last DAYS business days."""
    from app.earning.farming import flag_farming

    click.echo(f"{flag_farming(days)} members flagged")


@click.command("create-integration")
@click.argument("name")
@with_appcontext
def create_integration(name: str) -> None:
    """Create credentials for a brand system posting events (the secret is shown once)."""
    from app.earning.integrations import create

    integration, secret = create(name)
    click.echo(f"X-Integration-Key: {integration.key_id}\nsecret: {secret}")


levels = AppGroup("levels", help="Levels: expiry and downgrades, expiry notices.")


@levels.command("expire")
def levels_expire() -> None:
    """Apply every expired level's action and place members at the level their growth earns."""
    from app.levels.service import expire_due, notify_expiring

    result = expire_due()
    click.echo(f"{result['expired']} levels expired: {result['down']} down, {result['renewed']} renewed; "
               f"{notify_expiring()} expiry notices recorded")


mall = AppGroup("mall", help="The gift mall: unpaid order timeouts.")


@mall.command("expire-unpaid")
def mall_expire_unpaid() -> None:
    """Cancel points + cash orders not paid in time (points and stock go back)."""
    from mall.orders import expire_unpaid

    click.echo(f"{expire_unpaid()} unpaid orders cancelled")


@click.command("worker")
@click.option("--queues", default="default,pushes,maintenance", show_default=True)
@click.option("--burst", is_flag=True, help="work until the queues are empty, then exit")
@with_appcontext
def worker(queues: str, burst: bool) -> None:
    """Run an RQ worker for the app's queues (jobs run inside the app; retries wait in its scheduler)."""
    from flask import current_app

    from tasks import outbox
    from tasks.queues import make_worker

    app = current_app._get_current_object()
    outbox.drain()  # whatever waited while Redis was away
    make_worker(app, tuple(q.strip() for q in queues.split(",") if q.strip())).work(burst=burst, with_scheduler=True)


@click.command("scheduler")
@with_appcontext
def scheduler() -> None:
    """Run the cron schedule of config/jobs.py (times in the programme's time zone)."""
    from flask import current_app

    from tasks.queues import make_scheduler

    make_scheduler(current_app._get_current_object()).start()


jobs = AppGroup("jobs", help="Run a scheduled job now, in this process.")


@jobs.command("run")
@click.argument("name", type=click.Choice(["birthdays", "member-day", "campaigns", "prepare-member-days", "points-maintenance",
                                           "level-expiry", "expiry-warnings", "win-back", "daily-report",
                                           "drain-outbox", "robots"]))
@click.option("--day", default=None, help="YYYY-MM-DD (default today, in the programme's time zone)")
def jobs_run(name: str, day: str | None) -> None:
    """Run one job now (pushes it fans out still go to the worker)."""
    from tasks import campaigns, delivery, outbox

    runs = {"birthdays": lambda: campaigns.run_birthdays(day), "member-day": lambda: campaigns.run_member_day(day),
            "campaigns": lambda: campaigns.run_campaign_announcements(day),
            "prepare-member-days": campaigns.prepare_member_days, "points-maintenance": campaigns.run_points_maintenance,
            "level-expiry": campaigns.run_level_expiry, "expiry-warnings": lambda: campaigns.run_expiry_warnings(day),
            "win-back": lambda: campaigns.run_win_back(day), "daily-report": lambda: campaigns.send_daily_report(day),
            "drain-outbox": outbox.drain, "robots": delivery.deliver_robot_messages}
    click.echo(runs[name]())


imports = AppGroup("import", help="Imports from the previous system: members and their opening balances.")


@imports.command("members")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--operator", "username", default=None, help="operator named on the opening-balance entries")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="where rejected rows are written (default FILE.rejected.csv, only if there are any)")
def import_members(file: Path, username: str | None, report: Path | None) -> None:
    """Import members and their opening balances from FILE in this process: the API's checks, no size cap."""
    from sqlalchemy import select

    from app.errors import DomainError
    from app.extensions import db
    from app.imports import service
    from app.operators.models import Operator

    operator_id = None
    if username:
        operator_id = db.session.scalar(select(Operator.id).where(Operator.username == username))
        if operator_id is None:
            raise click.ClickException(f"no operator {username}")
    try:
        members_file = service.read_members_file(file.read_bytes(), file.name, upload=False)
    except DomainError as exc:
        raise click.ClickException(exc.message)
    run_id = service.begin_local_import(members_file, file.name, operator_id)
    with click.progressbar(length=members_file.table.total, label=f"import {run_id}") as bar:
        run = service.run_member_import(run_id, file=members_file, progress=bar.update)
    click.echo(f"{run['total']} rows: {run['imported']} imported, {run['unchanged']} already imported, "
               f"{run['rejected']} rejected")
    if run["rejected"]:
        report = report or file.with_name(f"{file.stem}.rejected.csv")
        with report.open("w", encoding="utf-8", newline="") as out:
            out.writelines(service.rejected_csv(run_id))
        click.echo(f"rejected rows and reasons: {report}")
