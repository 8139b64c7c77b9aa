"""The ledger's rules, called as the other features call them."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from app import clock
from app.extensions import db
from app.points import maintenance, queries, service
from app.points.errors import IdempotencyMismatch, InsufficientPoints, InvalidAmount, NotReversible, UnknownMember
from app.points.models import LedgerEntry, PointAccount, PointsLot
from app.points.verify import verify
from app.programme import service as programme
from tests.support import make_member

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def balances(member_id: int) -> tuple[int, int, int]:
    account = db.session.get(PointAccount, member_id, populate_existing=True)
    return account.available, account.pending, account.growth


def entries(member_id: int) -> list[LedgerEntry]:
    return list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.member_id == member_id).order_by(LedgerEntry.id)))


@pytest.fixture
def member(ctx):
    return make_member()


def use_policy(**changes):
    programme.update(changes)


def test_earn_writes_an_entry_a_lot_and_the_balances(member):
    outcome = service.earn(member, 120, growth=30, key="e1", reason_code="purchase", reason="消费得积分")
    assert [(e.currency, e.amount, e.balance_after) for e in outcome.entries] == [("points", 120, 120), ("growth", 30, 30)]
    assert balances(member) == (120, 0, 30)
    lot = db.session.scalar(select(PointsLot))
    assert (lot.amount, lot.remaining, lot.status) == (120, 120, "active")


def test_annual_policy_expires_at_the_end_of_the_following_year(member):
    use_policy(expiry_policy="annual", expiry_years=1)
    clock.freeze(at(2026, 3, 1, 10))
    service.earn(member, 10, key="e1", reason_code="t", reason="t")
    assert db.session.scalar(select(PointsLot.expires_at)) == at(2028, 1, 1)


def test_days_and_month_end_policies(member):
    clock.freeze(at(2026, 2, 10, 23, 30))
    use_policy(expiry_policy="days", expiry_days=30)
    service.earn(member, 10, key="d", reason_code="t", reason="t")
    use_policy(expiry_policy="month_end")
    service.earn(member, 10, key="m", reason_code="t", reason="t")
    use_policy(expiry_policy="never")
    service.earn(member, 10, key="n", reason_code="t", reason="t")
    expiries = list(db.session.scalars(select(PointsLot.expires_at).order_by(PointsLot.id)))
    assert expiries == [at(2026, 3, 13), at(2026, 3, 1), None]


def test_spend_takes_the_soonest_expiring_lots_first(member):
    use_policy(expiry_policy="days", expiry_days=100)
    clock.freeze(at(2026, 1, 1, 12))
    service.earn(member, 50, key="late", reason_code="t", reason="t")
    use_policy(expiry_policy="days", expiry_days=10)
    service.earn(member, 30, key="soon", reason_code="t", reason="t")
    service.spend(member, 40, key="s1", reason_code="redeem", reason="兑换")
    remaining = dict(db.session.execute(select(PointsLot.amount, PointsLot.remaining)).all())
    assert remaining == {30: 0, 50: 40}


def test_insufficient_points_write_nothing_and_free_the_key(member):
    service.earn(member, 30, key="e", reason_code="t", reason="t")
    with pytest.raises(InsufficientPoints):
        service.spend(member, 31, key="s", reason_code="redeem", reason="兑换")
    assert balances(member) == (30, 0, 0) and len(entries(member)) == 1
    service.earn(member, 1, key="e2", reason_code="t", reason="t")
    assert service.spend(member, 31, key="s", reason_code="redeem", reason="兑换").replayed is False


def test_same_key_returns_the_first_result_and_a_different_request_is_refused(member):
    first = service.earn(member, 10, key="k", reason_code="t", reason="t")
    again = service.earn(member, 10, key="k", reason_code="t", reason="t")
    assert again.replayed and again.operation_id == first.operation_id
    assert [e.id for e in again.entries] == [e.id for e in first.entries]
    with pytest.raises(IdempotencyMismatch):
        service.earn(member, 11, key="k", reason_code="t", reason="t")
    assert balances(member) == (10, 0, 0)


def test_bad_amounts_are_refused(member):
    for bad in (0, -5, 1.5, "10", True, 10**12, None):
        with pytest.raises(InvalidAmount):
            service.spend(member, bad, key=f"bad-{bad!r}", reason_code="t", reason="t")
    with pytest.raises(InvalidAmount):
        service.earn(member, 0, key="zero", reason_code="t", reason="t")
    assert entries(member) == []


def test_unknown_or_erased_member_is_refused(ctx):
    with pytest.raises(UnknownMember):
        service.earn(999_999, 10, key="ghost", reason_code="t", reason="t")
    with pytest.raises(UnknownMember):
        service.spend(999_999, 10, key="ghost-s", reason_code="t", reason="t")


def test_pending_points_cannot_be_spent_and_become_available_by_themselves(member):
    clock.freeze(at(2026, 5, 1, 12))
    service.earn(member, 100, key="purchase", reason_code="purchase", reason="消费(退货期内待入账)", hold_days=7)
    assert balances(member) == (0, 100, 0)
    with pytest.raises(InsufficientPoints):
        service.spend(member, 1, key="s", reason_code="redeem", reason="兑换")
    clock.advance(timedelta(days=7))
    assert queries.account(member)["points"]["available"] == 100
    assert balances(member) == (100, 0, 0)


def test_release_job_releases_every_due_hold_once(ctx):
    members = [make_member(str(i)) for i in range(3)]
    clock.freeze(at(2026, 5, 1, 12))
    for m in members:
        service.earn(m, 40, key=f"p{m}", reason_code="purchase", reason="消费", hold_days=3)
    clock.advance(timedelta(days=3))
    assert maintenance.release_due_pending() == {"lots": 3, "points": 120, "batches": 1}
    assert maintenance.release_due_pending()["lots"] == 0
    assert [balances(m) for m in members] == [(40, 0, 0)] * 3


def test_a_pending_hold_can_be_cancelled(member):
    outcome = service.earn(member, 100, growth=10, key="purchase", reason_code="purchase", reason="消费", hold_days=7)
    points_entry = outcome.entries[0].id
    service.reverse(points_entry, key="refund", reason="退货")
    assert balances(member) == (0, 0, 10)
    assert db.session.scalar(select(PointsLot.status)) == "cancelled"


def test_refund_of_a_spend_restores_the_same_lots_with_their_expiry(member):
    use_policy(expiry_policy="days", expiry_days=10)
    clock.freeze(at(2026, 1, 1, 12))
    service.earn(member, 30, key="a", reason_code="t", reason="t")
    clock.advance(timedelta(days=5))
    service.earn(member, 30, key="b", reason_code="t", reason="t")
    spent = service.spend(member, 50, key="order", reason_code="redeem", reason="兑换")
    service.reverse(spent.entries[0].id, key="cancel", reason="取消订单")
    lots = db.session.execute(select(PointsLot.remaining, PointsLot.expires_at).order_by(PointsLot.id)).all()
    assert lots == [(30, at(2026, 1, 12)), (30, at(2026, 1, 17))]
    assert balances(member) == (60, 0, 0)


def test_refund_into_an_expired_lot_expires_again_at_once(member):
    use_policy(expiry_policy="days", expiry_days=10)
    clock.freeze(at(2026, 1, 1, 12))
    service.earn(member, 30, key="a", reason_code="t", reason="t")
    spent = service.spend(member, 20, key="order", reason_code="redeem", reason="兑换")
    clock.advance(timedelta(days=20))
    maintenance.expire_due_lots()
    assert balances(member) == (0, 0, 0)
    service.reverse(spent.entries[0].id, key="cancel", reason="取消订单")
    kinds = [(e.kind, e.amount) for e in entries(member)]
    assert kinds[-2:] == [("reversal", 20), ("expire", -20)]
    assert balances(member) == (0, 0, 0)


def test_partial_refunds_never_return_more_than_was_spent(member):
    service.earn(member, 100, key="a", reason_code="t", reason="t")
    spent = service.spend(member, 60, key="order", reason_code="redeem", reason="兑换")
    service.reverse(spent.entries[0].id, amount=20, key="r1", reason="部分退款")
    service.reverse(spent.entries[0].id, amount=40, key="r2", reason="部分退款")
    with pytest.raises(NotReversible):
        service.reverse(spent.entries[0].id, amount=1, key="r3", reason="多退")
    assert balances(member) == (100, 0, 0)


def test_clawback_of_spent_points_stops_at_zero_and_records_the_shortfall(member):
    earned = service.earn(member, 100, key="purchase", reason_code="purchase", reason="消费")
    service.spend(member, 70, key="order", reason_code="redeem", reason="兑换")
    outcome = service.reverse(earned.entries[0].id, key="refund", reason="退货")
    assert outcome.extra == {"entry_id": earned.entries[0].id, "requested": 100, "taken": 30, "shortfall": 70}
    assert balances(member) == (0, 0, 0)


def test_entries_that_are_not_earns_or_spends_cannot_be_reversed(member):
    earned = service.earn(member, 10, key="e", reason_code="t", reason="t")
    reversal = service.reverse(earned.entries[0].id, key="r", reason="撤销")
    with pytest.raises(NotReversible):
        service.reverse(reversal.entries[0].id, key="rr", reason="撤销撤销")


def test_adjustments_and_penalties_keep_the_operator(member):
    service.adjust(member, 50, key="adj", reason="补偿", operator_id=7)
    service.adjust(member, 20, key="pen", reason="刷单处罚", operator_id=7, penalty=True)
    service.adjust(member, 5, key="g", reason="成长值补录", operator_id=7, currency="growth")
    rows = [(e.kind, e.amount, e.operator_id, e.reason) for e in entries(member)]
    assert rows == [("adjust", 50, 7, "补偿"), ("penalty", -20, 7, "刷单处罚"), ("adjust", 5, 7, "成长值补录")]
    assert balances(member) == (30, 0, 5)
    with pytest.raises(InsufficientPoints):
        service.adjust(member, -31, key="too-much", reason="扣减", operator_id=7)


def test_expiry_job_is_set_based_idempotent_and_verifiable(ctx):
    use_policy(expiry_policy="days", expiry_days=1)
    clock.freeze(at(2026, 1, 1, 12))
    members = [make_member(str(i)) for i in range(5)]
    for m in members:
        service.earn(m, 10, key=f"a{m}", reason_code="t", reason="t")
        service.earn(m, 5, key=f"b{m}", reason_code="t", reason="t")
        service.spend(m, 12, key=f"s{m}", reason_code="t", reason="t")
    clock.advance(timedelta(days=3))
    assert maintenance.expire_due_lots(batch=2) == {"lots": 5, "points": 15, "batches": 3}
    assert maintenance.expire_due_lots() == {"lots": 0, "points": 0, "batches": 0}
    assert all(balances(m) == (0, 0, 0) for m in members)
    assert verify() == []


def test_account_shows_what_expires_within_30_days(member):
    use_policy(expiry_policy="days", expiry_days=20)
    clock.freeze(at(2026, 6, 1, 12))
    service.earn(member, 10, key="a", reason_code="t", reason="t")
    clock.advance(timedelta(days=5))
    service.earn(member, 15, key="b", reason_code="t", reason="t")
    use_policy(expiry_policy="days", expiry_days=200)
    service.earn(member, 99, key="c", reason_code="t", reason="t")
    expiring = queries.account(member)["points"]["expiring"]
    assert expiring == {"amount": 10, "date": at(2026, 6, 21).date(), "within_30_days": 25}


@pytest.mark.tampers_ledger
def test_verify_finds_an_account_that_disagrees_with_its_entries(app, member):
    service.earn(member, 10, key="a", reason_code="t", reason="t")
    db.session.execute(text("UPDATE point_accounts SET available = available + 5"))
    db.session.commit()
    problems = verify()
    assert [p.member_id for p in problems] == [member]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and f"member {member}" in result.output


def test_verify_cli_is_clean_on_a_consistent_ledger(app, member):
    service.earn(member, 10, key="a", reason_code="t", reason="t")
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


def test_ledger_rows_are_never_updated(member):
    service.earn(member, 10, key="a", reason_code="t", reason="t")
    before = db.session.execute(text("SELECT xmin::text, * FROM ledger_entries")).all()
    service.spend(member, 5, key="s", reason_code="t", reason="t")
    service.reverse(entries(member)[-1].id, key="r", reason="退")
    after = db.session.execute(text("SELECT xmin::text, * FROM ledger_entries ORDER BY id LIMIT 1")).all()
    assert before == after
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 3


def test_closing_an_account_forfeits_its_points_available_and_pending(member):
    from app.members.models import Member
    from app.members.service import erase
    from app.points.liability import liability

    clock.freeze(at(2026, 5, 1, 12))
    service.earn(member, 100, key="a", reason_code="t", reason="t", growth=30)
    service.earn(member, 40, key="b", reason_code="t", reason="t")
    service.earn(member, 25, key="p", reason_code="purchase", reason="消费", hold_days=7)
    service.spend(member, 30, key="s", reason_code="redeem", reason="兑换")
    other = make_member("other")
    service.earn(other, 7, key="o", reason_code="t", reason="t")
    erase(db.session.get(Member, member))
    account = db.session.get(PointAccount, member, populate_existing=True)
    assert (account.available, account.pending, account.expired, account.growth) == (0, 0, 135, 30)
    forfeits = db.session.scalars(select(LedgerEntry).where(LedgerEntry.member_id == member,
                                                            LedgerEntry.reason_code == "account_closed")
                                  .order_by(LedgerEntry.id)).all()
    assert sorted((e.bucket, e.amount) for e in forfeits) == [("available", -70), ("available", -40), ("pending", -25)]
    assert all(e.kind == "expire" and e.reason == "账号注销,积分作废" for e in forfeits)
    assert min(e.balance_after for e in forfeits) == 0
    books = liability(at(2026, 5, 1), at(2026, 5, 2))
    assert books["outstanding"]["total"] == 7  # only the other member's points are still owed
    assert books["period"]["expired"] == 135
    assert balances(other)[0] == 7
    assert verify() == []


def test_an_earn_that_reaches_a_closed_account_is_forfeited_by_the_nightly_job(member):
    from app.members.models import Member
    from app.members.service import erase

    service.earn(member, 10, key="before", reason_code="t", reason="t")
    erase(db.session.get(Member, member))
    # an earn already past its member check when the erasure committed, written straight to the books
    db.session.execute(text("UPDATE members SET status = 'active' WHERE id = :m"), {"m": member})
    service.earn(member, 15, key="late", reason_code="t", reason="t")
    db.session.execute(text("UPDATE members SET status = 'erased' WHERE id = :m"), {"m": member})
    db.session.commit()
    assert balances(member)[0] == 15
    assert maintenance.forfeit_closed_accounts() == {"lots": 1, "points": 15, "batches": 1}
    assert maintenance.forfeit_closed_accounts()["lots"] == 0
    assert balances(member)[0] == 0
    assert verify() == []


def test_a_replayed_earn_does_not_commit_what_its_transaction_wrote_before(member):
    from app.members.models import Member

    service.earn(member, 10, key="once", reason_code="t", reason="t")
    db.session.get(Member, member).nickname = "未提交"
    db.session.flush()
    assert service.earn(member, 10, key="once", reason_code="t", reason="t").replayed
    db.session.remove()
    assert db.session.get(Member, member).nickname is None


def test_an_erasure_waits_for_an_earn_in_flight_instead_of_deadlocking(app):
    """An event holds the member row (its foreign keys) and then the account; the erasure must not
    hold the account while it changes the member row."""
    import threading

    from app.members.models import Member
    from app.members.service import erase

    with app.app_context():
        member = make_member()
        service.earn(member, 10, key="first", reason_code="t", reason="t")
    in_flight, done = threading.Event(), threading.Event()

    def earning():
        with app.app_context():
            db.session.execute(text("INSERT INTO ledger_operations (key, member_id, action, fingerprint, created_at) "
                                    "VALUES ('held', :m, 'earn', 'x', now())"), {"m": member})  # holds the member row
            in_flight.set()
            done.wait(0.5)  # the erasure starts meanwhile
            service.earn(member, 5, key="in-flight", reason_code="t", reason="t", commit=False)
            db.session.commit()
            db.session.remove()

    worker = threading.Thread(target=earning)
    worker.start()
    in_flight.wait(5)
    with app.app_context():
        erase(db.session.get(Member, member))
        done.set()
        worker.join(10)
        maintenance.forfeit_closed_accounts()
        assert balances(member)[0] == 0
        assert verify() == []
        db.session.remove()
