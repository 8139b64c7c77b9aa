"""The demo year (`flask seed-year`): a small programme generated and loaded, then checked against
the ledger's own rules, the verifier, the level ladder and the operators' liability figures."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from app import clock
from app.demo_year import DemoYear, PopulatedDatabase, seed_year
from app.extensions import db
from app.levels import service as levels
from app.levels.models import MemberLevel
from app.members.models import Member
from app.points.liability import liability
from app.points.models import PointAccount
from app.points.verify import verify

MEMBERS, DAYS, EXPIRY_DAYS = 150, 60, 20


@pytest.fixture
def year(ctx):
    return seed_year(members=MEMBERS, days=DAYS, seed=7, expiry_days=EXPIRY_DAYS)


def rows(sql: str, **params) -> list:
    return db.session.execute(text(sql), params).all()


def scalar(sql: str, **params):
    return db.session.execute(text(sql), params).scalar()


def test_the_year_is_loaded_and_the_ledger_verifier_finds_nothing(year):
    assert year.members == MEMBERS
    assert scalar("SELECT count(*) FROM members") == MEMBERS + 2  # and the small demo's alice and bob
    for table in ("ledger_entries", "points_lots", "checkins", "earning_events", "rule_awards", "mall_orders",
                  "member_levels", "invitations", "touchpoints", "task_claims", "lot_allocations"):
        assert scalar(f"SELECT count(*) FROM {table}") > 0, table
    assert verify() == []


def test_every_kind_of_activity_is_there_over_the_period(year):
    kinds = {(kind, code) for kind, code in rows("SELECT DISTINCT kind, reason_code FROM ledger_entries")}
    for expected in (("earn", "register"), ("earn", "checkin"), ("earn", "purchase"), ("earn", "task"),
                     ("release", "pending_released"), ("spend", "mall_redeem"), ("expire", "points_expired")):
        assert expected in kinds, expected
    first, last = rows("SELECT min(created_at), max(created_at) FROM members WHERE id > 2")[0]
    assert last - first > timedelta(days=DAYS * 0.8)
    halves = rows("SELECT count(*) FILTER (WHERE created_at < :mid), count(*) FILTER (WHERE created_at >= :mid) "
                  "FROM members WHERE id > 2", mid=first + (last - first) / 2)[0]
    assert halves[1] > halves[0]  # the programme grows
    assert scalar("SELECT count(*) FROM members WHERE phone IS NOT NULL") > 0
    assert scalar("SELECT count(*) FROM members WHERE birthday IS NOT NULL AND region IS NOT NULL") > 0
    assert scalar("SELECT count(*) FROM earning_events WHERE event_type = 'purchase' "
                  "AND (attributes->>'amount_cents')::bigint > 0") > 0
    assert scalar("SELECT count(DISTINCT status) FROM invitations") >= 2
    assert scalar("SELECT count(*) FROM touchpoints WHERE member_id IS NULL") > 0  # scans that never registered
    assert scalar("SELECT max(id) FROM ledger_entries") <= scalar(
        "SELECT last_value FROM ledger_entries_id_seq")  # the sequences moved past the loaded ids


def test_ids_grow_with_time_as_the_services_write_them(year):
    out_of_order = scalar("""
        SELECT count(*) FROM (SELECT created_at, lag(created_at) OVER (ORDER BY id) AS before
                              FROM ledger_entries WHERE member_id > 2) t WHERE created_at < before""")
    assert out_of_order == 0


def test_accounts_agree_with_their_entries_and_lots(year):
    assert scalar("SELECT sum(available + pending) FROM point_accounts") == scalar(
        "SELECT sum(remaining) FROM points_lots WHERE status IN ('active', 'pending')")
    mismatches = rows("""
        WITH flows AS (
            SELECT e.member_id,
                   coalesce(sum(e.amount) FILTER (WHERE e.currency = 'points' AND e.kind = 'earn'), 0)
                 + coalesce(sum(e.amount) FILTER (WHERE e.currency = 'points' AND e.kind = 'reversal' AND o.kind = 'earn'), 0)
                   AS earned,
                   coalesce(-sum(e.amount) FILTER (WHERE e.kind = 'spend'), 0)
                 - coalesce(sum(e.amount) FILTER (WHERE e.kind = 'reversal' AND o.kind = 'spend'), 0) AS spent,
                   coalesce(-sum(e.amount) FILTER (WHERE e.kind = 'expire'), 0) AS expired,
                   coalesce(sum(e.amount) FILTER (WHERE e.currency = 'growth' AND e.amount > 0 AND e.kind <> 'reversal'), 0)
                 + coalesce(sum(e.amount) FILTER (WHERE e.currency = 'growth' AND e.kind = 'reversal'), 0) AS growth_lifetime
            FROM ledger_entries e LEFT JOIN ledger_entries o ON o.id = e.reverses_entry_id
            GROUP BY e.member_id)
        SELECT a.member_id FROM point_accounts a JOIN flows f USING (member_id)
        WHERE a.lifetime_earned <> f.earned OR a.lifetime_spent <> f.spent OR a.expired <> f.expired
           OR a.growth_lifetime <> f.growth_lifetime""")
    assert mismatches == []


def test_balances_run_entry_by_entry_and_never_go_below_zero(year):
    wrong = rows("""
        SELECT id FROM (SELECT id, balance_after, sum(amount) OVER (PARTITION BY member_id, currency, bucket
                                                                  ORDER BY id) AS running
                        FROM ledger_entries) t
        WHERE running <> balance_after OR running < 0""")
    assert wrong == []
    short = rows("""
        SELECT e.id FROM ledger_entries e LEFT JOIN lot_allocations a ON a.entry_id = e.id
        WHERE e.kind = 'spend' GROUP BY e.id, e.amount HAVING coalesce(sum(a.amount), 0) <> -e.amount""")
    assert short == []


def test_spends_take_the_lots_that_expire_first(year):
    """Replay every member's ledger from its entries: each spend (and each claw-back) took exactly the
    lots `posting.spendable_lots` orders first, and the lots end with the remainders stored."""
    lots = {row.id: row for row in rows("SELECT id, member_id, earn_entry_id, amount, remaining, expires_at, "
                                        "available_at FROM points_lots")}
    by_entry = {lot.earn_entry_id: lot.id for lot in lots.values()}
    allocations: dict[int, list[tuple[int, int]]] = {}
    for entry_id, lot_id, amount in rows("SELECT entry_id, lot_id, amount FROM lot_allocations ORDER BY id"):
        allocations.setdefault(entry_id, []).append((lot_id, amount))
    left = {lot_id: 0 for lot_id in lots}
    active: set[int] = set()
    taken_by: dict[int, list[tuple[int, int]]] = {}
    for e in rows("SELECT e.id, e.member_id, e.bucket, e.kind, e.amount, e.lot_id, e.reverses_entry_id, o.kind AS "
                  "original FROM ledger_entries e LEFT JOIN ledger_entries o ON o.id = e.reverses_entry_id "
                  "WHERE e.currency = 'points' ORDER BY e.id"):
        if e.kind == "earn":
            left[by_entry[e.id]] = e.amount
            if e.bucket == "available":
                active.add(by_entry[e.id])
        elif e.kind == "release" and e.bucket == "available":
            active.add(e.lot_id)
        elif e.kind == "expire" or (e.kind == "reversal" and e.bucket == "pending"):
            left[e.lot_id] += e.amount
        elif e.kind == "spend" or (e.kind == "reversal" and e.original == "earn"):
            own = [by_entry[e.reverses_entry_id]] if e.kind == "reversal" else []
            order = [lot for lot in own if lot in active and left[lot] > 0] + sorted(
                (lot for lot in active if lots[lot].member_id == e.member_id and left[lot] > 0 and lot not in own),
                key=lambda lot: (lots[lot].expires_at, lot))
            expected, wanted = [], -e.amount
            for lot in order:
                part = min(left[lot], wanted)
                if part:
                    expected.append((lot, part))
                    wanted -= part
            assert allocations.get(e.id, []) == expected, e.id
            for lot, part in expected:
                left[lot] -= part
            taken_by[e.id] = list(expected)
        elif e.kind == "reversal" and e.original == "spend":
            give = e.amount
            for index in range(len(taken_by[e.reverses_entry_id]) - 1, -1, -1):
                lot, part = taken_by[e.reverses_entry_id][index]
                back = min(part, give)
                left[lot] += back
                taken_by[e.reverses_entry_id][index] = (lot, part - back)
                give -= back
    assert {lot_id: lot.remaining for lot_id, lot in lots.items()} == left


def test_check_ins_are_one_a_day_with_their_streaks(year):
    assert scalar("SELECT count(*) - count(DISTINCT (member_id, day)) FROM checkins") == 0
    assert scalar("""SELECT count(*) FROM checkins WHERE NOT made_up
                     AND (created_at AT TIME ZONE 'Asia/Shanghai')::date <> day""") == 0
    broken = rows("""
        SELECT c.id FROM checkins c LEFT JOIN checkins p ON p.member_id = c.member_id AND p.day = c.day - 1
        WHERE c.streak <> coalesce(p.streak, 0) + 1""")
    assert broken == []
    per_member = [n for (n,) in rows("SELECT count(*) FROM checkins GROUP BY member_id")]
    assert max(per_member) > 4 * min(per_member)  # heavy users and light ones


def test_each_member_is_at_the_level_their_growth_earns(year):
    ladder = levels.definitions()
    purchased = set(db.session.scalars(text("SELECT DISTINCT member_id FROM earning_events WHERE event_type = 'purchase'")))
    placed = dict(db.session.execute(select(MemberLevel.member_id, MemberLevel.level_code)).all())
    for member_id, growth in db.session.execute(select(PointAccount.member_id, PointAccount.growth)):
        earned = next(level for level in reversed(ladder) if growth >= level.threshold and (
            level.condition == "growth" or member_id in purchased))
        assert placed.get(member_id, ladder[0].code) == earned.code, member_id
    assert scalar("SELECT count(*) FROM level_changes WHERE reason = 'promotion'") > 0


def test_liability_over_the_period_is_what_the_ledger_says(year):
    start = clock.local_midnight(clock.today() - timedelta(days=DAYS + 1))
    books = liability(start, clock.now() + timedelta(seconds=1))
    sums = rows("""SELECT sum(lifetime_earned), sum(lifetime_spent), sum(expired), sum(available), sum(pending)
                   FROM point_accounts""")[0]
    assert (books["period"]["issued"], books["period"]["spent"], books["period"]["expired"]) == tuple(sums[:3])
    assert books["outstanding"]["available"] == sums[3] and books["outstanding"]["pending"] == sums[4]
    assert books["period"]["expired"] > 0 and books["period"]["spent"] > 0
    since = clock.now() - timedelta(days=30)
    month = liability(since, clock.now() + timedelta(seconds=1))["period"]
    direct = rows("""
        SELECT coalesce(sum(e.amount) FILTER (WHERE e.kind = 'earn'), 0)
             + coalesce(sum(e.amount) FILTER (WHERE e.kind = 'reversal' AND o.kind = 'earn'), 0),
               coalesce(-sum(e.amount) FILTER (WHERE e.kind = 'spend'), 0)
             - coalesce(sum(e.amount) FILTER (WHERE e.kind = 'reversal' AND o.kind = 'spend'), 0),
               coalesce(-sum(e.amount) FILTER (WHERE e.kind = 'expire'), 0)
        FROM ledger_entries e LEFT JOIN ledger_entries o ON o.id = e.reverses_entry_id
        WHERE e.currency = 'points' AND e.created_at >= :since""", since=since)[0]
    assert (month["issued"], month["spent"], month["expired"]) == tuple(direct)


def test_a_database_with_members_is_refused(year):
    with pytest.raises(PopulatedDatabase):
        DemoYear(members=10, days=5).prepare()
    assert scalar("SELECT count(*) FROM members") == MEMBERS + 2


def test_the_same_seed_makes_the_same_programme(ctx):
    clock.freeze(datetime(2026, 3, 14, 9, 30, tzinfo=timezone.utc))

    def fingerprint() -> tuple:
        return (rows("SELECT member_id, day, streak FROM checkins ORDER BY id"),
                rows("SELECT member_id, kind, amount, balance_after, created_at FROM ledger_entries ORDER BY id"),
                rows("SELECT member_id, level_code FROM member_levels ORDER BY member_id"))

    seed_year(members=40, days=20, seed=3, expiry_days=10)
    first = fingerprint()
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()
    from app import snapshots
    snapshots.invalidate()
    seed_year(members=40, days=20, seed=3, expiry_days=10)
    assert fingerprint() == first


def test_the_command_shows_progress_and_a_summary(app):
    # a fixed clock: the simulated year ends now, so on the real clock its figures vary with the time of day
    clock.freeze(datetime(2026, 3, 14, 9, 30, tzinfo=timezone.utc))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-year", "--members", "25", "--days", "12", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "members: 25" in result.output and "elapsed:" in result.output
    again = runner.invoke(args=["seed-year", "--members", "25", "--days", "12"])
    assert again.exit_code == 1 and "already holds 27 members" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Member)) == 27
        assert verify() == []
