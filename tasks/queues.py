"""RQ: the named queues, a worker that runs each job inside the app, and the cron schedule.

Jobs are plain functions that take ids (never ORM objects) and are safe to run twice. The worker
runs them with an app context (and a fresh database pool in each forked work horse); the scheduler
uses RQ's own cron (`rq.cron.CronScheduler`) with the times of `config/jobs.py` read in the
programme's time zone.
"""
from __future__ import annotations

import importlib
import os
import time
from typing import Any

from flask import Flask, current_app
from rq import Queue, Retry, SimpleWorker, Worker
from rq.cron import CronScheduler

from app.extensions import db, get_redis
from config.jobs import INTERVALS, SCHEDULE

QUEUES = ("default", "pushes", "maintenance")
RETRY = (3, [10, 60, 300])  # attempts and backoff (seconds) for jobs that raise on transient errors


def queue(name: str = "default") -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name}")
    return Queue(name, connection=get_redis())


def enqueue(func: str, *args: Any, queue_name: str = "default", job_id: str | None = None, retry: bool = True,
            timeout: int | None = None):
    """Send job `func(*args)` to RQ now (use `tasks.outbox.enqueue` inside a transaction instead).
    `timeout`: seconds the job may run (RQ's default, 3 minutes, when None)."""
    attempts, intervals = current_app.config.get("JOB_RETRY", RETRY)
    return queue(queue_name).enqueue(func, *args, job_id=job_id, job_timeout=timeout,
                                     retry=Retry(max=attempts, interval=intervals) if retry else None)


class _InApp:
    """Runs each job inside the Flask app's context."""

    flask_app: Flask

    def perform_job(self, job, queue, execution) -> bool:  # noqa: D401 (RQ's signature)
        with self.flask_app.app_context():
            if os.getpid() != self._born_in:  # a forked work horse: never share the parent's connections
                db.engine.dispose(close=False)
            try:
                return super().perform_job(job, queue, execution)
            finally:
                db.session.remove()


def make_worker(app: Flask, names: tuple[str, ...] = QUEUES, *, fork: bool = True) -> Worker:
    base = Worker if fork else SimpleWorker
    worker_class = type("AppWorker", (_InApp, base), {"flask_app": app})
    with app.app_context():
        worker = worker_class([Queue(name, connection=get_redis()) for name in names], connection=get_redis())
    worker._born_in = os.getpid()
    return worker


def _function(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def make_scheduler(app: Flask) -> CronScheduler:
    """The cron schedule. The process runs in the programme's time zone, which cron times are read in."""
    os.environ["TZ"] = app.config["SETTINGS"].timezone
    time.tzset()
    with app.app_context():
        scheduler = CronScheduler(connection=get_redis(), name=f"members-scheduler-{os.getpid()}")
    for path, cron, queue_name in SCHEDULE:  # a day's job may walk every member: an hour, not RQ's 3 minutes
        scheduler.register(_function(path), queue_name, cron=cron, job_timeout=3600)
    for path, seconds, queue_name in INTERVALS:
        scheduler.register(_function(path), queue_name, interval=seconds)
    return scheduler
