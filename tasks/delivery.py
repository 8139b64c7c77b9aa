"""Sending: subscribe messages to members, and messages to WeCom group robots.

Members. A message needs a grant (one per tap on wx.requestSubscribeMessage, recorded when the
mini-program reports it): one is spent per message, and WeChat's 43101 means none was left. A run
(`PushRun`, unique per kind and ref) lists its members in `send_log`, unique per (run, member):
`start_run` adds members without duplicating any, `fan_out` hands the pending ones to jobs of
`BATCH_SIZE`, and `send_batch` claims each row before calling WeChat, so a job killed halfway and
run again sends only to those still pending. -1 and 45009 are transient: the row goes back to
pending and the job is retried with backoff; anything else is recorded with its reason.

Robots. Messages are queued per robot (unique per dedupe key, so a job run twice queues once) and
sent at most 20 a minute per robot (a sliding window in Redis); the rest wait for the next round.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import requests
from flask import current_app
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from wechatpy.exceptions import WeChatClientException

from app import clock
from app.extensions import db, get_redis
from app.members.models import Member
from app.programme import service as programme
from app.wechat.client import mini_program
from config.jobs import BATCH_SIZE, PUSH_CONCURRENCY
from tasks.models import MessageTemplate, PushRun, Robot, RobotMessage, SendLog, SubscribeGrant

log = logging.getLogger(__name__)

TRANSIENT = (-1, 45009)
NO_GRANT = 43101
ROBOT_LIMIT, ROBOT_WINDOW_SECONDS = 20, 60
FIELD_LIMIT = 20  # WeChat's "thing" fields hold at most 20 characters


class TransientSendError(RuntimeError):
    """Some messages of a batch met a transient WeChat error: RQ retries the job with backoff."""


# ---- templates

def render(template: MessageTemplate, variables: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The subscribe message's data: each field's text with the variables filled in."""
    values = {"programme": programme.current().name, "points_name": programme.current().points_name, **variables}
    return {name: {"value": _fill(text_, values)[:FIELD_LIMIT]} for name, text_ in template.fields.items()}


def _fill(text_: str, values: dict[str, Any]) -> str:
    class Missing(dict):
        def __missing__(self, key: str) -> str:
            return ""
    return text_.format_map(Missing(values))


def group_text(template: MessageTemplate, variables: dict[str, Any]) -> str | None:
    if not template.group_text:
        return None
    return _fill(template.group_text, {"programme": programme.current().name, **variables})


# ---- member grants

def record_grants(member_id: int, wechat_template_ids: list[str]) -> dict[str, int]:
    """The mini-program reports the templates a member accepted: one message each."""
    templates = dict(db.session.execute(select(MessageTemplate.wechat_template_id, MessageTemplate.code)
                                        .where(MessageTemplate.wechat_template_id.in_(wechat_template_ids))).all())
    for template_id in wechat_template_ids:
        code = templates.get(template_id)
        if code is None:
            continue
        db.session.execute(insert(SubscribeGrant).values(member_id=member_id, template_code=code, remaining=1,
                                                         updated_at=clock.now())
                           .on_conflict_do_update(index_elements=["member_id", "template_code"],
                                                  set_={"remaining": func.least(SubscribeGrant.remaining + 1, 1000),
                                                        "updated_at": clock.now()}))
    db.session.commit()
    return grants(member_id)


def grants(member_id: int) -> dict[str, int]:
    return dict(db.session.execute(select(SubscribeGrant.template_code, SubscribeGrant.remaining)
                                   .where(SubscribeGrant.member_id == member_id)).all())


# ---- runs

def start_run(kind: str, ref: str, template_code: str, targets: list[tuple[int, dict[str, Any]]]) -> int:
    """The run (kind, ref), created once, with these members added once each; returns its id."""
    run_id = db.session.execute(insert(PushRun).values(kind=kind, ref=ref, template_code=template_code,
                                                       started_at=clock.now(), summary={})
                                .on_conflict_do_nothing(constraint="uq_push_runs_kind_ref").returning(PushRun.id)).scalar()
    if run_id is None:
        run_id = db.session.scalar(select(PushRun.id).where(PushRun.kind == kind, PushRun.ref == ref))
    for start in range(0, len(targets), 5000):
        chunk = targets[start:start + 5000]
        db.session.execute(insert(SendLog).values([{"run_id": run_id, "member_id": member_id, "variables": variables,
                                                     "status": "pending", "attempts": 0}
                                                    for member_id, variables in chunk])
                           .on_conflict_do_nothing(constraint="uq_send_log_run_member"))
    db.session.commit()
    return run_id


def fan_out(run_id: int, batch_size: int = BATCH_SIZE) -> int:
    """Hand the run's pending messages to jobs of `batch_size` each (enqueued together); returns the job count."""
    from tasks.queues import queue, RETRY

    ids = list(db.session.scalars(select(SendLog.id).where(SendLog.run_id == run_id, SendLog.status == "pending")
                                  .order_by(SendLog.id)))
    db.session.rollback()
    if not ids:
        summarize(run_id)
        return 0
    from rq import Retry

    attempts, intervals = current_app.config.get("JOB_RETRY", RETRY)
    jobs = [queue("pushes").prepare_data("tasks.delivery.send_batch", (run_id, ids[i:i + batch_size]),
                                         retry=Retry(max=attempts, interval=intervals))
            for i in range(0, len(ids), batch_size)]
    for start in range(0, len(jobs), 1000):
        queue("pushes").enqueue_many(jobs[start:start + 1000])
    return len(jobs)


_CLAIM = text("""
UPDATE send_log SET status = 'sending', attempts = attempts + 1
WHERE id = ANY(:ids) AND status = 'pending'
RETURNING id, member_id, variables
""")

_TAKE_GRANTS = text("""
UPDATE subscribe_grants SET remaining = remaining - 1, updated_at = :now
WHERE template_code = :code AND member_id = ANY(:members) AND remaining > 0
RETURNING member_id
""")

_GIVE_BACK = text("""
UPDATE subscribe_grants SET remaining = remaining + 1
WHERE template_code = :code AND member_id = ANY(:members)
""")

_NONE_LEFT = text("UPDATE subscribe_grants SET remaining = 0 WHERE template_code = :code AND member_id = ANY(:members)")

_RECORD = text("""
UPDATE send_log s SET status = r.status, error = r.error, sent_at = CASE WHEN r.status = 'sent' THEN :now END
FROM jsonb_to_recordset(:results) AS r(id bigint, status text, error text)
WHERE s.id = r.id
""").bindparams(bindparam("results", type_=JSONB))

CHUNK = 100  # messages whose grants and results are written in one transaction


def send_batch(run_id: int, log_ids: list[int]) -> dict[str, int]:
    """Send one batch of a run's messages: claim them, spend a grant each, call WeChat, record.

    Rows are claimed (pending -> sending) and committed before any call, so a rerun never sends
    them again; grants and results are written per chunk in one transaction each, and a chunk's
    calls to WeChat run a few at a time (they wait on the network), paced to the configured rate."""
    run = db.session.get(PushRun, run_id)
    template = db.session.get(MessageTemplate, run.template_code)
    claimed = db.session.execute(_CLAIM, {"ids": log_ids}).all()
    db.session.commit()
    openids = dict(db.session.execute(select(Member.id, Member.openid).where(
        Member.id.in_([row.member_id for row in claimed]), Member.status == "active")).all())
    outcome = {"sent": 0, "skipped": 0, "failed": 0, "retry": 0}
    pace = 1.0 / current_app.config["SETTINGS"].push_rate_per_second
    client = mini_program()
    for start in range(0, len(claimed), CHUNK):
        chunk = claimed[start:start + CHUNK]
        sendable = [row for row in chunk if row.member_id in openids] if template.active else []
        granted = set(db.session.scalars(_TAKE_GRANTS, {"code": template.code, "now": clock.now(),
                                                        "members": [row.member_id for row in sendable]}))
        to_send = [row for row in chunk if row.member_id in granted]
        started = time.monotonic()
        calls = [(openids[row.member_id], render(template, row.variables)) for row in to_send]
        answers = dict(zip((row.id for row in to_send), _pool().map(
            lambda call: _send_one(client, template, *call), calls)))
        time.sleep(max(0.0, len(to_send) * pace - (time.monotonic() - started)))  # the rate toward WeChat
        results, give_back, none_left = [], [], []
        for row in chunk:
            if row.member_id not in openids:
                status, error = "skipped", "member_inactive"
            elif not template.active:
                status, error = "skipped", "template_inactive"
            elif row.member_id not in granted:
                status, error = "skipped", "no_grant"
            else:
                status, error = answers[row.id]
                if status in ("retry", "failed"):
                    give_back.append(row.member_id)
                elif error == "no_grant":
                    none_left.append(row.member_id)
            outcome[status] += 1
            results.append({"id": row.id, "status": "pending" if status == "retry" else status, "error": error})
        if give_back:
            db.session.execute(_GIVE_BACK, {"code": template.code, "members": give_back})
        if none_left:
            db.session.execute(_NONE_LEFT, {"code": template.code, "members": none_left})
        db.session.execute(_RECORD, {"results": results, "now": clock.now()})
        db.session.commit()
    summarize(run_id)
    if outcome["retry"]:
        raise TransientSendError(f"{outcome['retry']} messages of run {run_id} will be retried")
    return outcome


_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """Calls to WeChat wait on the network: a job keeps `PUSH_CONCURRENCY` of them in flight."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=PUSH_CONCURRENCY, thread_name_prefix="push")
    return _executor


def _send_one(client, template: MessageTemplate, openid: str, data: dict) -> tuple[str, str | None]:
    """One call to WeChat (on a pool thread: no app context here): sent, skipped (WeChat says no
    grant is left), retry (transient) or failed."""
    try:
        client.wxa.send_subscribe_message(openid, template.wechat_template_id, data, page=template.page)
        return "sent", None
    except WeChatClientException as exc:
        code = int(exc.errcode) if exc.errcode is not None else 0
        if code == NO_GRANT:  # WeChat says none is left: believe it
            return "skipped", "no_grant"
        return ("retry" if code in TRANSIENT else "failed"), f"{code} {exc.errmsg}"[:200]
    except requests.RequestException as exc:
        return "retry", f"network: {exc}"[:200]


def summarize(run_id: int) -> dict[str, int]:
    counts = dict(db.session.execute(select(SendLog.status, func.count()).where(SendLog.run_id == run_id)
                                     .group_by(SendLog.status)).all())
    summary = {"targeted": sum(counts.values()), **{s: counts.get(s, 0) for s in ("sent", "skipped", "failed",
                                                                                   "pending", "sending")}}
    done = summary["pending"] == 0 and summary["sending"] == 0
    db.session.execute(update(PushRun).where(PushRun.id == run_id).values(
        summary=summary, finished_at=clock.now() if done else None))
    db.session.commit()
    return summary


def retry_failed(run_id: int) -> int:
    """Operators: put the run's failed (and stuck) messages back to pending and send them again."""
    moved = db.session.execute(update(SendLog).where(SendLog.run_id == run_id,
                                                     SendLog.status.in_(("failed", "sending")))
                               .values(status="pending", error=None)).rowcount
    db.session.commit()
    from tasks import outbox

    outbox.enqueue("tasks.delivery.fan_out", run_id, queue="pushes")
    db.session.commit()
    return moved


# ---- WeCom group robots

def robot_base_url() -> str:
    settings = current_app.config["SETTINGS"]
    base = settings.wecom_robot_base or settings.effective_wechat_api_base or "https://qyapi.weixin.qq.com/"
    return base.rstrip("/") + "/cgi-bin/webhook/send"


def queue_for_robots(dedupe_key: str, content: str, *, store_id: int | None = None, markdown: bool = False) -> int:
    """Queue a message to the operators' robots (or a store's), once per dedupe key; returns how many."""
    robots = db.session.scalars(select(Robot.id).where(
        Robot.active.is_(True), Robot.scope == ("store" if store_id else "operators"),
        *([Robot.store_id == store_id] if store_id else []))).all()
    kind = "markdown" if markdown else "text"
    body = {"msgtype": kind, kind: {"content": content}}
    queued = 0
    for robot_id in robots:
        queued += db.session.execute(insert(RobotMessage).values(
            robot_id=robot_id, dedupe_key=dedupe_key[:96], body=body, status="queued", created_at=clock.now())
            .on_conflict_do_nothing(constraint="uq_wecom_robot_messages_once").returning(RobotMessage.id)
        ).scalar() is not None
    db.session.commit()
    return queued


def _robot_slot(robot_id: int) -> bool:
    """Take one of the robot's 20 sends of the last minute, if one is free (by the programme clock)."""
    redis, key, now = get_redis(), f"wecom-robot:{robot_id}:sent", clock.now().timestamp()
    redis.zremrangebyscore(key, "-inf", now - ROBOT_WINDOW_SECONDS)
    if redis.zcard(key) >= ROBOT_LIMIT:
        return False
    redis.zadd(key, {f"{now}:{time.monotonic_ns()}": now})
    redis.expire(key, ROBOT_WINDOW_SECONDS * 2)
    return True


def deliver_robot_messages() -> dict[str, int]:
    """Send queued robot messages, oldest first, within each robot's 20 a minute."""
    totals = {"sent": 0, "failed": 0, "waiting": 0}
    url = robot_base_url()
    timeout = current_app.config["SETTINGS"].wechat_timeout_seconds
    redis = get_redis()
    for robot in db.session.scalars(select(Robot).where(Robot.active.is_(True))).all():
        lock = redis.lock(f"wecom-robot:{robot.id}:lock", timeout=120, blocking=False)
        if not lock.acquire(blocking=False):
            continue  # another worker is sending for this robot
        try:
            queued = db.session.scalars(select(RobotMessage).where(RobotMessage.robot_id == robot.id,
                                                                   RobotMessage.status == "queued")
                                        .order_by(RobotMessage.id)).all()
            for message in queued:
                if not _robot_slot(robot.id):
                    totals["waiting"] += 1
                    continue
                try:
                    answer = requests.post(url, params={"key": robot.webhook_key}, json=message.body,
                                           timeout=timeout).json()
                except (requests.RequestException, ValueError) as exc:
                    log.warning("robot %s unreachable: %s", robot.id, exc)
                    totals["waiting"] += 1
                    break
                if answer.get("errcode") == 0:
                    message.status, message.sent_at = "sent", clock.now()
                    totals["sent"] += 1
                elif answer.get("errcode") == 45009:  # WeCom's own limit: wait for the next round
                    totals["waiting"] += 1
                    break
                else:
                    message.status, message.error = "failed", f"{answer.get('errcode')} {answer.get('errmsg')}"[:200]
                    totals["failed"] += 1
                db.session.commit()
        finally:
            db.session.commit()
            lock.release()
    return totals
