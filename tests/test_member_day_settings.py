"""Operators set the member day (on or off, day of month, multiplier, name) in the programme; the
member-day jobs follow it, and campaigns made for days ahead under older settings are retired."""
from __future__ import annotations

from sqlalchemy import func, select

from app import clock
from app.earning import engine
from app.earning.models import Campaign
from app.extensions import db
from app.points import service as ledger
from tasks import campaigns
from tasks.models import PushRun
from tests.support import operator_headers
from tests.test_jobs import at, member, programme, sends, work  # noqa: F401 (programme is a fixture)

PROGRAMME_URL = "/api/v1/admin/programme"


def purchase(member_id: int, event_id: str, *, cents: int = 10_000) -> engine.Outcome:
    return engine.process(engine.Event("purchase", member_id, event_id, source="pos",
                                       attributes={"amount_cents": cents, "order_id": event_id}))


def member_day_campaigns() -> list[tuple[str, str, int, bool]]:
    """(day, name, multiplier, active) of every member-day campaign (retired ones are not), in day order."""
    rows = db.session.scalars(select(Campaign).where(Campaign.member_day.is_(True))
                              .order_by(Campaign.starts_at, Campaign.multiplier_pct, Campaign.id))
    return [(clock.business_date(c.starts_at).isoformat(), c.name, c.multiplier_pct, c.active) for c in rows]


def patch(client, headers, body: dict):
    return client.patch(PROGRAMME_URL, json=body, headers=headers)


def test_moving_the_member_day_makes_the_new_days_campaigns_and_retires_those_of_the_old_day_ahead(
        app, client, programme):
    clock.freeze(at(2026, 7, 1, 0, 5))
    with app.app_context():
        assert campaigns.prepare_member_days()["days"] == ["2026-07-08", "2026-08-08"]
    clock.freeze(at(2026, 8, 2, 9, 0))  # July's member day is history now
    response = patch(client, operator_headers(app, client), {"member_day_of_month": 18})
    assert response.status_code == 200 and response.get_json()["member_day_of_month"] == 18
    with app.app_context():
        summary = campaigns.prepare_member_days()
        assert summary["days"] == ["2026-08-18", "2026-09-18"]
        assert summary["deactivated"] == 2  # 8 August: everyone's campaign and the diamond level's
        active = {(day, pct) for day, _, pct, on in member_day_campaigns() if on}
        assert active == {("2026-07-08", 200), ("2026-07-08", 300), ("2026-08-18", 200), ("2026-08-18", 300),
                          ("2026-09-18", 200), ("2026-09-18", 300)}
        assert campaigns.prepare_member_days()["deactivated"] == 0  # a second run changes nothing
        retired = db.session.scalars(select(Campaign).where(Campaign.member_day.is_(False))).all()
        assert sorted((clock.business_date(c.starts_at).isoformat(), c.active) for c in retired) == \
            [("2026-08-08", False), ("2026-08-08", False)]  # no longer counted as a member day anywhere

    alice = member(client, "alice")["member"]["id"]
    clock.freeze(at(2026, 8, 8, 12, 0))
    with app.app_context():
        assert campaigns.run_member_day() == {"member_day": False}
        old_day = purchase(alice, "p-8th")
    clock.freeze(at(2026, 8, 18, 12, 0))
    with app.app_context():
        new_day = purchase(alice, "p-18th")
    assert (old_day.points, new_day.points) == (100, 200)
    assert new_day.rules[0].campaign == "会员日"


def test_a_move_made_the_day_before_retires_the_next_days_campaign_when_the_nightly_job_runs(
        app, client, programme):
    clock.freeze(at(2026, 8, 2, 0, 5))
    with app.app_context():
        campaigns.prepare_member_days()
    clock.freeze(at(2026, 8, 7, 23, 0))
    assert patch(client, operator_headers(app, client), {"member_day_of_month": 20}).status_code == 200
    clock.freeze(at(2026, 8, 8, 0, 5))  # the 8th has begun: its campaign is today's, not history yet
    with app.app_context():
        campaigns.prepare_member_days()
        assert {day for day, _, _, on in member_day_campaigns() if on} == {"2026-08-20", "2026-09-20"}


def test_the_multiplier_set_is_what_members_earn_on_the_member_day_and_higher_level_rights_still_win(
        app, client, sandbox, programme):
    clock.freeze(at(2026, 8, 2, 0, 5))
    with app.app_context():
        campaigns.prepare_member_days()  # made with 200 %
    body = {"member_day_multiplier_pct": 250, "member_day_name": "超级会员日"}
    assert patch(client, operator_headers(app, client), body).status_code == 200
    alice = member(client, "alice", grants=("tmpl-member-day",))["member"]["id"]
    dora = member(client, "dora")["member"]["id"]
    with app.app_context():
        ledger.earn(dora, growth=30_000, key="to-diamond", reason_code="t", reason="t")  # member day right: 300 %
        summary = campaigns.prepare_member_days()
        assert summary["deactivated"] == 4  # both days ahead, each the old 200 % and the old diamond campaign
        assert [(d, n, p) for d, n, p, on in member_day_campaigns() if on and d == "2026-08-08"] == \
            [("2026-08-08", "超级会员日", 250), ("2026-08-08", "超级会员日(等级权益 3 倍)", 300)]
    clock.freeze(at(2026, 8, 8, 10, 0))
    with app.app_context():
        assert campaigns.run_member_day()["members"] == 1
        alice_day, dora_day = purchase(alice, "a-day"), purchase(dora, "d-day")
    work(app)
    [push] = sends(sandbox, "tmpl-member-day")
    assert "2.5 倍" in push["body"]["data"]["thing2"]["value"]
    clock.freeze(at(2026, 8, 9, 10, 0))
    with app.app_context():
        alice_next, dora_next = purchase(alice, "a-next"), purchase(dora, "d-next")
    assert (alice_day.points, alice_next.points) == (250, 100)
    assert dora_day.points == 3 * dora_next.points and dora_day.rules[0].campaign == "超级会员日(等级权益 3 倍)"


def test_with_member_days_off_no_campaign_doubles_points_and_nothing_is_pushed(app, client, sandbox, programme):
    clock.freeze(at(2026, 8, 2, 0, 5))
    ops = operator_headers(app, client)
    with app.app_context():
        campaigns.prepare_member_days()
    assert patch(client, ops, {"member_day_enabled": False}).status_code == 200
    assert client.get(PROGRAMME_URL, headers=ops).get_json()["member_day_enabled"] is False
    alice = member(client, "alice", grants=("tmpl-member-day",))["member"]["id"]
    with app.app_context():
        assert campaigns.prepare_member_days() == {"member_day": False, "reason": "disabled", "deactivated": 4}
        assert not any(on for *_, on in member_day_campaigns())
    clock.freeze(at(2026, 8, 8, 10, 0))
    with app.app_context():
        assert campaigns.run_member_day() == {"member_day": False, "reason": "disabled"}
        assert campaigns.ensure_member_day_campaign(clock.today()) == []
        assert purchase(alice, "p-off").points == 100
        assert db.session.scalar(select(func.count()).where(PushRun.kind == "member_day")) == 0
    work(app)
    assert sends(sandbox, "tmpl-member-day") == []

    ops = operator_headers(app, client, username="admin-2")
    assert patch(client, ops, {"member_day_enabled": True}).status_code == 200  # on again: today is a member day
    with app.app_context():
        assert campaigns.prepare_member_days()["days"] == ["2026-08-08", "2026-09-08"]
        assert purchase(alice, "p-on").points == 200


def test_a_member_day_an_operator_switched_off_stays_off_while_it_matches_the_settings(app, client, programme):
    clock.freeze(at(2026, 8, 2, 0, 5))
    with app.app_context():
        campaigns.prepare_member_days()
        september = db.session.scalar(select(Campaign.id).where(Campaign.name == "会员日",
                                                                Campaign.starts_at == at(2026, 9, 8)))
    ops = operator_headers(app, client)
    campaign = client.get("/api/v1/admin/campaigns", headers=ops).get_json()["items"]
    body = {k: v for k, v in next(c for c in campaign if c["id"] == september).items() if k != "id"}
    assert client.put(f"/api/v1/admin/campaigns/{september}", json={**body, "active": False},
                      headers=ops).status_code == 200
    clock.freeze(at(2026, 8, 3, 0, 5))
    with app.app_context():
        assert campaigns.prepare_member_days()["deactivated"] == 0
        assert [(d, p, on) for d, _, p, on in member_day_campaigns() if d == "2026-09-08"] == \
            [("2026-09-08", 200, False), ("2026-09-08", 300, True)]


def test_bad_member_day_settings_are_refused_and_change_nothing(app, client, programme):
    ops = operator_headers(app, client)
    before = client.get(PROGRAMME_URL, headers=ops).get_json()
    for body in ({"member_day_of_month": 0}, {"member_day_of_month": 29}, {"member_day_of_month": 8.0},
                 {"member_day_of_month": "18"}, {"member_day_multiplier_pct": 50},
                 {"member_day_multiplier_pct": 1001}, {"member_day_multiplier_pct": 200.5},
                 {"member_day_enabled": "yes"}, {"member_day_name": ""}, {"member_day_name": "会" * 17},
                 {"member_day_of_month": 18, "member_day_multiplier_pct": 50}):
        response = patch(client, ops, body)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["code"]
    assert client.get(PROGRAMME_URL, headers=ops).get_json() == before
    assert (before["member_day_enabled"], before["member_day_of_month"], before["member_day_multiplier_pct"],
            before["member_day_name"]) == (True, 8, 200, "会员日")


def test_an_analyst_cannot_change_the_member_day(app, client, programme):
    analyst = operator_headers(app, client, role="analyst")
    assert client.get(PROGRAMME_URL, headers=analyst).status_code == 200
    assert patch(client, analyst, {"member_day_of_month": 18}).status_code == 403
    assert patch(client, operator_headers(app, client, role="operator"), {"member_day_enabled": False}).status_code == 403
    with app.app_context():
        from app.programme import service as settings

        assert (settings.current().member_day_of_month, settings.current().member_day_enabled) == (8, True)


def test_the_console_programme_form_sets_the_member_day(app, programme):
    from tests.test_console import csrf, sign_in

    console = sign_in(app)
    page = console.get("/console/programme")
    text = page.get_data(as_text=True)
    assert "会员日:每月几号(1-28)" in text and "会员日积分倍数(%)" in text and "开启会员日" in text
    form = {"member_day_enabled": "on", "member_day_of_month": "18", "member_day_multiplier_pct": "300",
            "member_day_name": "品牌日", "csrf_token": csrf(page)}
    assert console.post("/console/programme", data=form).status_code == 302
    assert console.post("/console/programme", data={**form, "member_day_of_month": "29"}).status_code == 422
    with app.app_context():
        from app.programme import service as settings

        view = settings.current()
        assert (view.member_day_enabled, view.member_day_of_month, view.member_day_multiplier_pct,
                view.member_day_name) == (True, 18, 300, "品牌日")
