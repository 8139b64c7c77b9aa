"""Property-based: random sequences of earn, hold, spend, refund, expire and time moving forward
keep balance = sum of entries = sum of lot remainders, never negative, no expired lot ever spent,
and refunds give back the same lots."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import select, text

from app import clock
from app.extensions import db
from app.points import maintenance, service
from app.points.errors import InsufficientPoints, NotReversible
from app.points.models import LotAllocation, PointAccount, PointsLot
from app.points.verify import verify
from app.programme import service as programme
from tests.support import make_member


@pytest.fixture
def ledger_machine(app):
    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.ctx = app.app_context()
            self.ctx.push()
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
            clock.freeze(datetime(2026, 1, 1, 4, tzinfo=timezone.utc))
            programme.update({"expiry_policy": "days", "expiry_days": 20})
            self.member = make_member()
            self.n = 0
            self.spends: list[int] = []
            self.earns: list[int] = []

        def key(self) -> str:
            self.n += 1
            return f"k{self.n}"

        @rule(points=st.integers(1, 200), hold=st.sampled_from([0, 0, 3]))
        def earn(self, points, hold):
            outcome = service.earn(self.member, points, key=self.key(), reason_code="t", reason="t", hold_days=hold)
            self.earns.append(outcome.entries[0].id)

        @rule(points=st.integers(1, 150))
        def spend(self, points):
            try:
                self.spends.append(service.spend(self.member, points, key=self.key(), reason_code="t", reason="t").entries[-1].id)
            except InsufficientPoints:
                pass

        @precondition(lambda self: self.spends)
        @rule(data=st.data())
        def refund(self, data):
            entry = data.draw(st.sampled_from(self.spends))
            before = dict(db.session.execute(
                select(LotAllocation.lot_id, LotAllocation.amount - LotAllocation.returned)
                .where(LotAllocation.entry_id == entry)).all())
            try:
                service.reverse(entry, key=self.key(), reason="退款")
            except NotReversible:
                return
            after = db.session.execute(select(LotAllocation.lot_id, LotAllocation.returned)
                                       .where(LotAllocation.entry_id == entry)).all()
            assert all(returned > 0 for lot, returned in after if before.get(lot, 0) > 0)

        @precondition(lambda self: self.earns)
        @rule(data=st.data())
        def clawback(self, data):
            try:
                service.reverse(data.draw(st.sampled_from(self.earns)), key=self.key(), reason="退货")
            except NotReversible:
                pass

        @rule(days=st.integers(1, 15))
        def time_passes(self, days):
            clock.advance(timedelta(days=days))

        @rule()
        def nightly_jobs(self):
            maintenance.release_due_pending()
            maintenance.expire_due_lots()

        @invariant()
        def books_balance(self):
            assert verify() == []
            account = db.session.get(PointAccount, self.member, populate_existing=True)
            if account is not None:
                assert account.available >= 0 and account.pending >= 0
                lots = db.session.execute(select(PointsLot.status, PointsLot.remaining)
                                          .where(PointsLot.member_id == self.member)).all()
                assert account.available == sum(r for s, r in lots if s == "active")
                assert account.pending == sum(r for s, r in lots if s == "pending")

        def teardown(self):
            db.session.remove()
            self.ctx.pop()
            clock.unfreeze()

    return LedgerMachine


def test_random_ledger_histories_keep_the_books(ledger_machine):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(ledger_machine, settings=settings(
        max_examples=30, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
