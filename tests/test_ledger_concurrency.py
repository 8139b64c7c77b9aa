"""Concurrency claims, proven with real threads against PostgreSQL."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from app.extensions import db
from app.points import service
from app.points.errors import InsufficientPoints
from app.points.models import LedgerEntry, PointAccount
from app.points.verify import verify
from tests.support import make_member


def run_in_threads(app, count: int, action):
    """Run `action(i)` in `count` threads at once, each with its own app context and connection."""
    barrier = threading.Barrier(count)

    def worker(i: int):
        with app.app_context():
            barrier.wait()
            try:
                return action(i)
            except Exception as exc:  # the outcome we assert on
                db.session.rollback()
                return exc
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


def test_fifty_parallel_spends_of_ten_from_one_hundred(app):
    with app.app_context():
        member = make_member()
        service.earn(member, 100, key="seed", reason_code="t", reason="t")
    results = run_in_threads(app, 50, lambda i: service.spend(member, 10, key=f"spend-{i}", reason_code="redeem", reason="兑换"))
    successes = [r for r in results if not isinstance(r, Exception)]
    refusals = [r for r in results if isinstance(r, InsufficientPoints)]
    assert len(successes) == 10 and len(refusals) == 40
    with app.app_context():
        assert db.session.get(PointAccount, member).available == 0
        assert verify() == []


def test_fifty_parallel_earns_with_one_key_write_one_entry(app):
    with app.app_context():
        member = make_member()
    results = run_in_threads(app, 50, lambda i: service.earn(member, 10, key="same-event", reason_code="t", reason="t"))
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(1 for r in results if not r.replayed) == 1
    assert len({r.operation_id for r in results}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
        assert db.session.get(PointAccount, member).available == 10


def test_parallel_spends_with_one_key_spend_once(app):
    with app.app_context():
        member = make_member()
        service.earn(member, 100, key="seed", reason_code="t", reason="t")
    results = run_in_threads(app, 20, lambda i: service.spend(member, 30, key="order-1", reason_code="redeem", reason="兑换"))
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(1 for r in results if not r.replayed) == 1
    with app.app_context():
        assert db.session.get(PointAccount, member).available == 70


def test_parallel_refunds_of_one_spend_give_back_once(app):
    with app.app_context():
        member = make_member()
        service.earn(member, 100, key="seed", reason_code="t", reason="t")
        spent = service.spend(member, 60, key="order", reason_code="redeem", reason="兑换").entries[0].id
    results = run_in_threads(app, 20, lambda i: service.reverse(spent, key=f"refund-{i}", reason="退款"))
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    with app.app_context():
        assert db.session.get(PointAccount, member).available == 100
