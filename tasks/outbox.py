"""Jobs asked for inside a transaction reach RQ only if it commits, and even if Redis is down then.

`enqueue(func, *args)` writes an `outbox_jobs` row in the caller's transaction. When the transaction
commits, the rows are sent to RQ at once (job id `outbox-<id>`) and marked; if Redis cannot be reached
the request still succeeds, and `drain()` (every 15 s from the scheduler, and when a worker starts)
sends what is waiting once Redis is back. Jobs are idempotent, so the rare double send (Redis took it
but the mark was lost) does no harm.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, select, text, update
from sqlalchemy.orm import Session

from app import clock
from app.extensions import db
from tasks.models import OutboxJob

log = logging.getLogger(__name__)


def enqueue(func: str, *args: Any, queue: str = "default") -> None:
    """Ask for `func(*args)` (ids and plain values only) once the current transaction commits."""
    row = OutboxJob(func=func, args=list(args), queue=queue, created_at=clock.now())
    db.session.add(row)
    db.session.flush()
    db.session.info.setdefault("outbox", []).append((row.id, func, list(args), queue))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    waiting = session.info.pop("outbox", None)
    if waiting:
        sent = _push(waiting)
        if sent:
            with db.engine.begin() as conn:  # not the session: it is between transactions here
                conn.execute(update(OutboxJob).where(OutboxJob.id.in_(sent)).values(enqueued_at=clock.now()))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("outbox", None)


def _push(waiting: list[tuple[int, str, list, str]]) -> list[int]:
    """Send jobs to RQ in order, stopping at the first failure; the ids sent."""
    from tasks.queues import enqueue as rq_enqueue

    sent = []
    for row_id, func, args, queue in waiting:
        try:
            rq_enqueue(func, *args, queue_name=queue, job_id=f"outbox-{row_id}")
        except Exception as exc:  # Redis unreachable: the row waits for drain()
            log.warning("job %s (outbox %s) not sent to RQ yet: %s", func, row_id, exc)
            break
        sent.append(row_id)
    return sent


def drain(batch: int = 500) -> int:
    """Send every waiting job to RQ (oldest first); returns how many were sent."""
    total = 0
    while True:
        rows = db.session.execute(select(OutboxJob.id, OutboxJob.func, OutboxJob.args, OutboxJob.queue)
                                  .where(OutboxJob.enqueued_at.is_(None)).order_by(OutboxJob.id).limit(batch)
                                  .with_for_update(skip_locked=True)).all()
        if not rows:
            db.session.rollback()
            return total
        sent = _push([tuple(row) for row in rows])
        if sent:
            db.session.execute(update(OutboxJob).where(OutboxJob.id.in_(sent)).values(enqueued_at=clock.now()))
        db.session.commit()
        total += len(sent)
        if len(sent) < len(rows):
            return total


def waiting() -> int:
    return int(db.session.scalar(text("SELECT count(*) FROM outbox_jobs WHERE enqueued_at IS NULL")))
