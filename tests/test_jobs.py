"""Jobs and pushes with a real Redis and a real RQ worker (burst mode) against the WeChat sandbox."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis as redis_lib
from sqlalchemy import func, select

from app import clock
from app.earning import engine
from app.embedded import redis_url as start_redis, stop_redis
from app.extensions import db
from app.members.models import Member
from app.points.models import LedgerEntry, PointAccount
from tasks import campaigns, delivery, outbox
from tasks.demo import seed_demo_robot, seed_templates
from tasks.models import Automation, OutboxJob, PushRun, RobotMessage, SendLog
from tasks.queues import make_worker
from tests.support import auth, login, operator_headers, seed_levels, seed_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*parts) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


@pytest.fixture
def programme(app):
    app.config["JOB_RETRY"] = (3, [0])  # retry transient failures at once in burst mode
    with app.app_context():
        seed_rules()
        seed_levels()
        seed_templates()
        seed_demo_robot()
    yield
    app.config.pop("JOB_RETRY", None)


def work(app) -> None:
    """Run every queued job to the end, as `flask worker --burst` would (without forking)."""
    make_worker(app, fork=False).work(burst=True, with_scheduler=False)


def member(client, name: str, *, birthday: str | None = None, grants: tuple[str, ...] = ()) -> dict:
    login_ = login(client, name)
    if birthday:
        assert client.patch("/api/v1/me", json={"nickname": name.title(), "birthday": birthday},
                            headers=auth(login_)).status_code == 200
    if grants:
        assert client.post("/api/v1/me/subscriptions", json={"accepted": list(grants)},
                           headers=auth(login_)).status_code == 200
    return login_


def sends(sandbox, template_id: str) -> list[dict]:
    return [r for r in sandbox.requests("subscribe_send") if (r["body"] or {}).get("template_id") == template_id
            and r["response"].get("errcode") == 0]


def test_birthdays_give_the_gift_once_and_send_once_even_when_run_twice(app, client, sandbox, programme):
    clock.freeze(at(2026, 3, 8, 9, 0))
    alice = member(client, "alice", birthday="1990-03-08", grants=("tmpl-birthday",))
    bob = member(client, "bob", birthday="1991-03-08")  # no grant: no message, counted as skipped
    member(client, "carol", birthday="1992-07-01", grants=("tmpl-birthday",))
    with app.app_context():
        first = campaigns.run_birthdays()
        second = campaigns.run_birthdays()
    work(app)
    assert first["members"] == second["members"] == 2 and first["run_id"] == second["run_id"]
    assert len(sends(sandbox, "tmpl-birthday")) == 1
    with app.app_context():
        gifts = db.session.scalars(select(LedgerEntry.member_id).where(LedgerEntry.reason_code == "birthday_gift")).all()
        assert sorted(gifts) == sorted([alice["member"]["id"], bob["member"]["id"]])  # once each, not carol
        run = db.session.get(PushRun, first["run_id"])
        assert {k: run.summary[k] for k in ("targeted", "sent", "skipped", "failed")} == \
            {"targeted": 2, "sent": 1, "skipped": 1, "failed": 0}
        assert db.session.scalar(select(SendLog.error).where(SendLog.status == "skipped")) == "no_grant"
        assert db.session.scalar(select(func.count()).select_from(RobotMessage)) == 1  # the group's summary, once


def test_a_birthday_run_killed_halfway_sends_only_to_the_rest_when_run_again(app, client, sandbox, programme):
    clock.freeze(at(2026, 5, 20, 9, 0))
    for n in range(6):
        member(client, f"m{n}", birthday="1990-05-20", grants=("tmpl-birthday",))
    with app.app_context():
        run_id = campaigns.run_birthdays()["run_id"]
        pending = db.session.scalars(select(SendLog.id).where(SendLog.run_id == run_id).order_by(SendLog.id)).all()
        delivery.send_batch(run_id, pending[:2])  # a worker sent two, then died with the rest claimed by nobody
        db.session.execute(SendLog.__table__.update().where(SendLog.id == pending[2]).values(status="sending"))
        db.session.commit()  # ... and one in the middle of its call to WeChat
    redis_lib.Redis.from_url(app.config["REDIS_URL"]).flushdb()  # its queued jobs are gone too
    with app.app_context():
        campaigns.run_birthdays()  # the scheduler runs it again
    work(app)
    assert len(sends(sandbox, "tmpl-birthday")) == 2 + 3  # never twice; the one caught mid-call is not resent
    with app.app_context():
        run = db.session.get(PushRun, run_id)
        assert run.summary["sent"] == 5 and run.summary["sending"] == 1
        assert db.session.scalar(select(func.count()).where(LedgerEntry.reason_code == "birthday_gift")) == 6
        ops = operator_headers(app, app.test_client())
    retried = client.post(f"/api/v1/admin/push-runs/{run_id}/retry", headers=ops)
    assert retried.status_code == 200 and retried.get_json()["requeued"] == 1
    work(app)
    assert len(sends(sandbox, "tmpl-birthday")) == 6


def test_member_day_doubles_points_only_on_the_day_and_pushes_opted_in_members(app, client, sandbox, programme):
    clock.freeze(at(2026, 8, 8, 10, 0))
    alice = member(client, "alice", grants=("tmpl-member-day",))
    bob = member(client, "bob")
    with app.app_context():
        result = campaigns.run_member_day()
        assert result["member_day"] and result["members"] == 1
        day = engine.process(engine.Event("purchase", alice["member"]["id"], "p-day", source="pos",
                                          attributes={"amount_cents": 10_000, "order_id": "o1"}))
    work(app)
    assert len(sends(sandbox, "tmpl-member-day")) == 1
    clock.freeze(at(2026, 8, 9, 10, 0))
    with app.app_context():
        assert campaigns.run_member_day() == {"member_day": False}
        next_day = engine.process(engine.Event("purchase", bob["member"]["id"], "p-next", source="pos",
                                               attributes={"amount_cents": 10_000, "order_id": "o2"}))
    assert day.points == 2 * next_day.points == 200


def test_transient_wechat_errors_are_retried_and_permanent_ones_recorded(app, client, sandbox, programme):
    clock.freeze(at(2026, 4, 1, 9, 0))
    member(client, "alice", birthday="1990-04-01", grants=("tmpl-birthday",))
    member(client, "bob", birthday="1990-04-01", grants=("tmpl-birthday",))
    sandbox.add_fault("subscribe_send", -1, times=1)
    with app.app_context():
        run_id = campaigns.run_birthdays()["run_id"]
    work(app)
    with app.app_context():
        assert db.session.get(PushRun, run_id).summary["sent"] == 2
    clock.freeze(at(2026, 4, 2, 9, 0))
    member(client, "carol", birthday="1990-04-02", grants=("tmpl-birthday",))
    sandbox.add_fault("subscribe_send", 40003, times=1)
    with app.app_context():
        run_id = campaigns.run_birthdays()["run_id"]
    work(app)
    ops = operator_headers(app, client)
    detail = client.get(f"/api/v1/admin/push-runs/{run_id}", headers=ops).get_json()
    assert detail["failed"] == 1 and detail["reasons"][0]["reason"].startswith("40003")


def test_wechat_saying_no_grant_is_left_counts_as_skipped(app, client, sandbox, programme):
    clock.freeze(at(2026, 6, 6, 9, 0))
    member(client, "alice", birthday="1990-06-06", grants=("tmpl-birthday",))
    sandbox.add_fault("subscribe_send", 43101, times=1)
    with app.app_context():
        run_id = campaigns.run_birthdays()["run_id"]
    work(app)
    with app.app_context():
        run = db.session.get(PushRun, run_id)
        assert run.summary["skipped"] == 1 and run.summary["failed"] == 0


def test_wecom_robots_never_send_more_than_20_a_minute(app, sandbox, programme):
    with app.app_context():
        for n in range(30):
            delivery.queue_for_robots(f"announcement:{n}", f"公告 {n}")
        delivery.queue_for_robots("announcement:0", "公告 0")  # the same key again queues nothing
        first = delivery.deliver_robot_messages()
        again = delivery.deliver_robot_messages()
    assert first["sent"] == 20 and again["sent"] == 0
    assert len(sandbox.requests("webhook_send")) == 20
    clock.freeze(clock.now() + timedelta(seconds=61))
    sandbox.reset()  # the sandbox's own minute has passed too
    with app.app_context():
        assert delivery.deliver_robot_messages()["sent"] == 10
        assert db.session.scalar(select(func.count()).where(RobotMessage.status == "queued")) == 0


def test_with_redis_down_a_registration_succeeds_and_its_welcome_push_goes_out_later(app, client, sandbox, programme,
                                                                                      tmp_path):
    folder = Path(str(tmp_path)[:60]) / "r"  # unix socket paths must stay short
    shared = app.extensions["redis"]
    app.extensions["redis"] = redis_lib.Redis.from_url(start_redis(folder))
    app.extensions.pop("wechat_mini", None)
    try:
        stop_redis(folder)
        alice = login(client, "alice")  # Redis is down
        assert client.post("/api/v1/me/subscriptions", json={"accepted": ["tmpl-welcome"]},
                           headers=auth(alice)).status_code == 200
        with app.app_context():
            assert outbox.waiting() == 1
        start_redis(folder)  # Redis is back
        with app.app_context():
            assert outbox.drain() == 1 and outbox.waiting() == 0
        work(app)
        assert len(sends(sandbox, "tmpl-welcome")) == 1
    finally:
        stop_redis(folder)
        app.extensions["redis"] = shared
        app.extensions.pop("wechat_mini", None)


def test_level_up_congratulates_only_while_the_automation_is_on(app, client, sandbox, programme):
    from app.points import service as ledger

    alice = member(client, "alice", grants=("tmpl-level-up", "tmpl-level-up"))
    with app.app_context():
        ledger.earn(alice["member"]["id"], growth=2_000, key="g1", reason_code="t", reason="t")
    work(app)
    assert len(sends(sandbox, "tmpl-level-up")) == 1
    ops = operator_headers(app, client)
    assert client.put("/api/v1/admin/automations/level_up", json={"active": False}, headers=ops).status_code == 200
    with app.app_context():
        ledger.earn(alice["member"]["id"], growth=10_000, key="g2", reason_code="t", reason="t")
    work(app)
    assert len(sends(sandbox, "tmpl-level-up")) == 1


def test_subscriptions_and_admin_inputs_are_checked(app, client, programme):
    alice = login(client, "alice")
    for body in ({}, {"accepted": "tmpl-birthday"}, {"accepted": []}, {"accepted": [1]}, {"other": 1}):
        assert client.post("/api/v1/me/subscriptions", json=body, headers=auth(alice)).status_code == 422
    unknown = client.post("/api/v1/me/subscriptions", json={"accepted": ["nope"]}, headers=auth(alice)).get_json()
    assert all(t["remaining"] == 0 for t in unknown["templates"])
    ops = operator_headers(app, client)
    assert client.get("/api/v1/admin/push-runs/999", headers=ops).status_code == 404
    assert client.post("/api/v1/admin/push-runs/999/retry", headers=ops).status_code == 404
    assert client.put("/api/v1/admin/automations/nope", json={"active": True}, headers=ops).status_code == 404
    assert client.put("/api/v1/admin/automations/welcome", json={"active": "yes please"}, headers=ops).status_code == 422
    assert client.post("/api/v1/admin/robots", json={"name": "x", "webhook_key": "k" * 10, "scope": "store"},
                       headers=ops).status_code == 422
    assert client.get("/api/v1/admin/push-runs", headers=auth(alice)).status_code == 401


def test_the_schedule_runs_in_the_programmes_time_zone(app):
    import os
    import time as time_module

    from tasks.queues import make_scheduler

    saved = os.environ.get("TZ")
    try:
        scheduler = make_scheduler(app)
        birthdays = next(j for j in scheduler.get_jobs() if j.func_name == "tasks.campaigns.run_birthdays")
        assert birthdays.next_enqueue_time.astimezone(SHANGHAI).hour == 9  # 09:00 in Shanghai, 01:00 UTC
        names = {j.func_name for j in scheduler.get_jobs()}
        assert {"tasks.campaigns.run_member_day", "tasks.campaigns.run_points_maintenance", "tasks.outbox.drain",
                "tasks.campaigns.run_level_expiry", "mall.orders.expire_unpaid"} <= names
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time_module.tzset()


def test_expiry_warnings_reach_members_whose_points_expire_in_30_and_7_days(app, client, sandbox, programme):
    from app.points import service as ledger
    from app.programme import service as programme_service

    clock.freeze(at(2026, 1, 10, 12, 0))
    with app.app_context():
        programme_service.update({"expiry_policy": "days", "expiry_days": 30})
    alice = member(client, "alice", grants=("tmpl-points-expiring",))
    with app.app_context():
        ledger.earn(alice["member"]["id"], 80, key="e1", reason_code="t", reason="t")
    clock.freeze(at(2026, 1, 10, 13, 0))  # alice's 80 (and her 100 for registering): last usable day in 30 days
    with app.app_context():
        first = campaigns.run_expiry_warnings()
        again = campaigns.run_expiry_warnings()
    work(app)
    assert first["points_30"]["members"] == 1 and again["points_30"]["members"] == 1
    [message] = sends(sandbox, "tmpl-points-expiring")
    assert "180" in message["body"]["data"]["thing1"]["value"]


def test_win_back_pushes_once_per_silence(app, client, sandbox, programme):
    clock.freeze(at(2026, 1, 1, 12, 0))
    member(client, "alice", grants=("tmpl-win-back", "tmpl-win-back"))
    clock.freeze(at(2026, 3, 2, 16, 0))  # 60 days later
    with app.app_context():
        assert campaigns.run_win_back()["members"] == 1
        campaigns.run_win_back()
    clock.freeze(at(2026, 3, 3, 16, 0))
    with app.app_context():
        assert campaigns.run_win_back()["members"] == 0
    work(app)
    assert len(sends(sandbox, "tmpl-win-back")) == 1


def test_the_daily_report_reaches_the_operators_group_once(app, client, sandbox, programme):
    member(client, "alice")
    with app.app_context():
        figures = campaigns.send_daily_report()
        campaigns.send_daily_report()
        assert delivery.deliver_robot_messages()["sent"] == 1
    assert figures["new_members"] == 1 and figures["points_issued"] == 100
    [report] = sandbox.requests("webhook_send")
    assert report["body"]["msgtype"] == "markdown" and "日报" in report["body"]["markdown"]["content"]


def test_an_operators_campaign_is_announced_on_its_first_day_to_its_levels(app, client, sandbox, programme):
    clock.freeze(at(2026, 10, 1, 10, 0))
    ops = operator_headers(app, client)
    created = client.post("/api/v1/admin/campaigns", headers=ops, json={
        "name": "国庆 3 倍积分", "grade": "A", "starts_at": "2026-10-01T00:00:00+08:00",
        "ends_at": "2026-10-08T00:00:00+08:00", "multiplier_pct": 300, "level_codes": ["registered"],
        "message": "国庆七天消费积分 3 倍"})
    assert created.status_code == 201 and created.get_json()["message"] == "国庆七天消费积分 3 倍"
    alice = member(client, "alice", grants=("tmpl-campaign",))
    member(client, "bob")  # did not accept campaign messages
    with app.app_context():
        assert campaigns.run_campaign_announcements() == {"国庆 3 倍积分": 1}
        campaigns.run_campaign_announcements()
        delivery.deliver_robot_messages()
    work(app)
    [push] = sends(sandbox, "tmpl-campaign")
    assert push["body"]["touser"] and "3 倍" in push["body"]["data"]["thing2"]["value"]
    [announcement] = sandbox.requests("webhook_send")
    assert "国庆 3 倍积分" in announcement["body"]["text"]["content"]
    clock.freeze(at(2026, 10, 2, 10, 0))
    with app.app_context():
        assert campaigns.run_campaign_announcements() == {}
