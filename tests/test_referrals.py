"""Invitations: codes in the scene, binding once at registration, rewards for both sides once."""
from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from app.earning.models import EarnRule, RuleAward
from app.extensions import db
from app.points.models import PointAccount
from posters import referrals
from posters.models import Invitation, Touchpoint
from tests.support import auth, login, operator_headers, seed_rules

_phones = itertools.count(13900000000)


@pytest.fixture
def programme(app):
    with app.app_context():
        seed_rules()


def invite_code(client, member: dict) -> str:
    body = client.get("/api/v1/me/invite-code", headers=auth(member)).get_json()
    assert len(body["scene"]) <= 32 and body["scene"].startswith("i")
    return body["scene"]


def bind_phone(client, member: dict) -> None:
    response = client.post("/api/v1/me/phone", json={"code": f"{next(_phones)}.x"}, headers=auth(member))
    assert response.status_code == 200, response.get_json()


def available(app, member_id: int) -> int:
    with app.app_context():
        account = db.session.get(PointAccount, member_id)
        return account.available if account else 0


def test_an_invitee_who_binds_a_phone_makes_both_sides_earn_once(app, client, programme):
    alice = login(client, "alice")
    code = invite_code(client, alice)
    before = available(app, alice["member"]["id"])
    bob = login(client, "bob", scene=code)
    assert available(app, alice["member"]["id"]) == before  # registering alone pays the inviter nothing
    bind_phone(client, bob)
    bind_phone(client, bob)  # again: nothing more
    assert available(app, alice["member"]["id"]) == before + 200
    mine = client.get("/api/v1/me/invitations", headers=auth(alice)).get_json()
    assert mine["total_points"] == 200 and mine["invited"][0]["status"] == "rewarded" and "积分" in mine["rules"]
    with app.app_context():
        invitation = db.session.scalar(select(Invitation))
        assert (invitation.inviter_points, invitation.invitee_points) == (200, 100)


def test_racing_bindings_and_qualifications_pay_each_side_exactly_once(app, client, programme):
    alice = login(client, "alice")
    code = invite_code(client, alice)
    bob = login(client, "bob")  # created without a scene; the binding below races as the signal handlers would
    bob_id = bob["member"]["id"]
    with app.app_context():
        db.session.execute(Invitation.__table__.delete())
        db.session.commit()
    bind_phone(client, bob)
    start = threading.Barrier(8)

    def race(n: int) -> None:
        with app.app_context():
            start.wait()
            if n % 2:
                referrals.bind(bob_id, code)
            else:
                referrals.qualify(bob_id)
            db.session.remove()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(race, range(8)))
    with app.app_context():
        awards = db.session.execute(select(EarnRule.code, RuleAward.member_id, RuleAward.points)
                                    .join(EarnRule, EarnRule.id == RuleAward.rule_id)
                                    .where(EarnRule.code.in_(("invite", "invited")))).all()
        assert sorted(awards) == [("invite", alice["member"]["id"], 200), ("invited", bob_id, 100)]
        assert db.session.scalar(select(func.count()).select_from(Invitation)) == 1


def test_self_invites_existing_members_and_cycles_earn_nothing(app, client, programme):
    alice = login(client, "alice")
    alice_code = invite_code(client, alice)
    bob = login(client, "bob", scene=alice_code)
    bob_code = invite_code(client, bob)
    carol = login(client, "carol")
    login(client, "carol", scene=alice_code)  # an existing member scanning binds nothing
    with app.app_context():
        assert referrals.bind(alice["member"]["id"], alice_code) is None  # herself
        assert referrals.bind(alice["member"]["id"], bob_code) is None  # bob was invited by alice: a cycle
        assert db.session.scalar(select(func.count()).select_from(Invitation)) == 1
        assert db.session.scalar(select(Invitation.invitee_id)) == bob["member"]["id"]
    assert carol["member"]["id"] != bob["member"]["id"]


def test_the_inviters_daily_cap_holds_and_invitees_still_get_their_bonus(app, client, programme):
    alice = login(client, "alice")
    code = invite_code(client, alice)
    before = available(app, alice["member"]["id"])
    friends = [login(client, f"friend{n}", scene=code) for n in range(6)]
    for friend in friends:
        bind_phone(client, friend)
    assert available(app, alice["member"]["id"]) == before + 5 * 200  # cap: 5 a day
    assert all(available(app, f["member"]["id"]) >= 100 for f in friends)
    statuses = [i["points"] for i in client.get("/api/v1/me/invitations", headers=auth(alice)).get_json()["invited"]]
    assert sorted(statuses) == [0, 200, 200, 200, 200, 200]


def test_channels_and_scans_show_in_attribution(app, client, programme):
    ops = operator_headers(app, client)
    channel = client.post("/api/v1/admin/channels", json={"kind": "store", "name": "静安店海报"}, headers=ops)
    assert channel.status_code == 201
    scene = channel.get_json()["scene"]
    assert client.post("/api/v1/scans", json={"scene": scene, "visitor": "v-1"}).get_json() == {"recorded": True}
    assert client.post("/api/v1/scans", json={"scene": "iNoSuchCode"}).get_json() == {"recorded": False}
    dave = login(client, "dave", scene=scene)
    bind_phone(client, dave)
    report = client.get("/api/v1/admin/referrals/attribution", headers=ops).get_json()
    [row] = report["channels"]
    assert (row["name"], row["scans"], row["registrations"], row["qualified"]) == ("静安店海报", 2, 1, 1)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Touchpoint).where(Touchpoint.visitor == "v-1")) == 1


def test_bad_input_is_refused(app, client, programme):
    for body in ({}, {"scene": ""}, {"scene": "中文"}, {"scene": "x" * 33}, {"scene": "ok", "extra": 1}):
        assert client.post("/api/v1/scans", json=body).status_code == 422
    ops = operator_headers(app, client)
    assert client.post("/api/v1/admin/channels", json={"kind": "tv", "name": "x"}, headers=ops).status_code == 422
    assert client.get("/api/v1/me/invitations").status_code == 401


def test_conversions_are_credited_first_touch_last_touch_or_linearly(app, client, programme):
    from datetime import timedelta

    from app import clock

    ops = operator_headers(app, client)
    channel = client.post("/api/v1/admin/channels", json={"kind": "advert", "name": "地铁广告"}, headers=ops).get_json()
    alice = login(client, "alice")
    erin = login(client, "erin", scene=channel["scene"])  # registered through the advert
    with app.app_context():
        referrals.record_scan(invite_code(client, alice), member_id=erin["member"]["id"])  # then saw alice's poster
    clock.freeze(clock.now() + timedelta(minutes=1))
    bind_phone(client, erin)  # qualified: one conversion
    by = {}
    for model in ("first_touch", "last_touch", "linear"):
        body = client.get(f"/api/v1/admin/referrals/attribution?model={model}", headers=ops).get_json()
        by[model] = {(c["source"], c["conversions"]) for c in body["conversions"]}
    assert by["first_touch"] == {("channel", 1.0)}
    assert by["last_touch"] == {("inviter", 1.0)}
    assert by["linear"] == {("channel", 0.5), ("inviter", 0.5)}
    assert client.get("/api/v1/admin/referrals/attribution?model=magic", headers=ops).status_code == 422


def test_when_the_operator_asks_for_a_first_purchase_the_phone_alone_pays_nothing(app, client, programme):
    from app.earning import engine
    from tasks.queues import make_worker

    ops = operator_headers(app, client)
    response = client.patch("/api/v1/admin/programme", json={"referral_qualify_on": "first_purchase"}, headers=ops)
    assert response.status_code == 200 and response.get_json()["referral_qualify_on"] == "first_purchase"
    alice = login(client, "alice")
    before = available(app, alice["member"]["id"])
    bob = login(client, "bob", scene=invite_code(client, alice))
    bind_phone(client, bob)
    assert available(app, alice["member"]["id"]) == before
    assert "完成首次消费" in client.get("/api/v1/me/invitations", headers=auth(alice)).get_json()["rules"]
    with app.app_context():
        engine.process(engine.Event("purchase", bob["member"]["id"], "pos-1", source="pos",
                                    attributes={"amount_cents": 5000, "order_id": "o-1"}))
    make_worker(app, fork=False).work(burst=True, with_scheduler=False)
    assert available(app, alice["member"]["id"]) == before + 200
    assert client.patch("/api/v1/admin/programme", json={"referral_qualify_on": "never"},
                        headers=ops).status_code == 422
