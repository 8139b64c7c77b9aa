"""The bot: encrypted callbacks built with wechatpy's own crypto, posted to the app, replies decrypted."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import xmltodict
from sqlalchemy import func, select
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner
from wechatpy.work.crypto import WeChatCrypto as WorkCrypto

from app import clock
from app.checkin.models import Checkin
from app.extensions import db
from app.points import service as ledger
from config.settings import SANDBOX_BOT_AES_KEY, SANDBOX_BOT_TOKEN, SANDBOX_CORP_ID, SANDBOX_MP_APPID
from handlers.models import BotMessage
from tests.support import auth, login, make_item, make_store, operator_headers, seed_rules, staff_headers

_ids = iter(range(10**12, 10**13))


def _sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def mp_post(client, openid: str, content: str | None = None, *, event: str | None = None, key: str | None = None,
            msg_id: int | None = None, at: int | None = None, nonce: str | None = None, tamper: str | None = None):
    """Post what WeChat posts for a follower's message, encrypted (safe mode); return (response, reply fields)."""
    at = at or int(clock.now().timestamp())
    fields = {"ToUserName": "gh_test", "FromUserName": openid, "CreateTime": at}
    if event:
        fields.update(MsgType="event", Event=event, **({"EventKey": key} if key else {}))
    else:
        fields.update(MsgType="text", Content=content, MsgId=msg_id or next(_ids))
    plain = xmltodict.unparse({"xml": fields}, full_document=False)
    timestamp, nonce = str(at), nonce or uuid.uuid4().hex[:10]
    body = WeChatCrypto(SANDBOX_BOT_TOKEN, SANDBOX_BOT_AES_KEY, SANDBOX_MP_APPID).encrypt_message(plain, nonce, timestamp)
    outer = xmltodict.parse(body)["xml"]
    query = {"timestamp": timestamp, "nonce": nonce, "signature": _sign(SANDBOX_BOT_TOKEN, timestamp, nonce),
             "encrypt_type": "aes", "msg_signature": outer["MsgSignature"], "openid": openid}
    if tamper:
        query[tamper] = "0" * 40
    response = client.post(f"/wechat/mp/callback?{urlencode(query)}", data=body, content_type="application/xml")
    return response, _reply(response, WeChatCrypto(SANDBOX_BOT_TOKEN, SANDBOX_BOT_AES_KEY, SANDBOX_MP_APPID))


def work_post(client, userid: str, content: str, *, msg_id: int | None = None):
    at = int(clock.now().timestamp())
    plain = xmltodict.unparse({"xml": {"ToUserName": SANDBOX_CORP_ID, "FromUserName": userid, "CreateTime": at,
                                       "MsgType": "text", "Content": content, "MsgId": msg_id or next(_ids),
                                       "AgentID": 1000002}}, full_document=False)
    timestamp, nonce = str(at), uuid.uuid4().hex[:10]
    crypto = WorkCrypto(SANDBOX_BOT_TOKEN, SANDBOX_BOT_AES_KEY, SANDBOX_CORP_ID)
    body = crypto.encrypt_message(plain, nonce, timestamp)
    query = {"timestamp": timestamp, "nonce": nonce, "msg_signature": xmltodict.parse(body)["xml"]["MsgSignature"]}
    response = client.post(f"/wechat/work/callback?{urlencode(query)}", data=body, content_type="application/xml")
    return response, _reply(response, crypto)


def _reply(response, crypto) -> dict:
    text = response.get_data(as_text=True)
    if response.status_code != 200 or not text.startswith("<"):
        return {}
    outer = xmltodict.parse(text)["xml"]
    plain = crypto.decrypt_message(text, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
    return dict(xmltodict.parse(plain)["xml"])


def bind_member(client, member: dict, openid: str) -> None:
    code = client.post("/api/v1/me/bot-bind-code", headers=auth(member)).get_json()["code"]
    _, reply = mp_post(client, openid, f"绑定 {code}")
    assert "绑定成功" in reply["Content"]


@pytest.fixture
def programme(app):
    with app.app_context():
        seed_rules()


def test_a_linked_member_checks_in_by_message_once_a_day_and_sees_the_balance(app, client, sandbox, programme):
    alice = login(client, "alice")
    bind_member(client, alice, "o-follower-1")
    _, first = mp_post(client, "o-follower-1", "签到")
    assert first["MsgType"] == "text" and "签到成功" in first["Content"] and "连续签到 1 天" in first["Content"]
    _, second = mp_post(client, "o-follower-1", "签到")
    assert "已经签到" in second["Content"]
    _, balance = mp_post(client, "o-follower-1", "积分")
    assert "可用" in balance["Content"] and "成长值" in balance["Content"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 1


def test_a_follower_is_linked_by_unionid_when_wechat_knows_it(app, client, sandbox, programme):
    alice = login(client, "alice")
    with app.app_context():
        ledger.earn(alice["member"]["id"], 321, key="seed", reason_code="t", reason="t")
    _, reply = mp_post(client, sandbox.follower("alice"), "余额")
    assert "可用积分:421" in reply["Content"]  # 321 and the 100 of registering


def test_unlinked_followers_are_told_how_to_link_and_unknown_input_gets_help(client, sandbox, programme):
    _, reply = mp_post(client, "o-stranger", "签到")
    assert "绑定" in reply["Content"]
    alice = login(client, "alice")
    bind_member(client, alice, "o-follower-2")
    _, reply = mp_post(client, "o-follower-2", "今天天气怎么样")
    assert "签到" in reply["Content"] and "积分" in reply["Content"]
    _, reply = mp_post(client, "o-follower-2", event="subscribe")
    assert "欢迎关注" in reply["Content"]


def test_a_wrong_bind_code_links_nothing_and_guessing_is_limited(client, sandbox, programme):
    for _ in range(5):
        _, reply = mp_post(client, "o-guesser", "绑定 000000")
        assert "无效" in reply["Content"]
    _, reply = mp_post(client, "o-guesser", "绑定 111111")
    assert "太多" in reply["Content"]


def test_forged_replayed_old_and_malformed_callbacks_are_refused_and_change_nothing(app, client, sandbox, programme):
    alice = login(client, "alice")
    bind_member(client, alice, "o-follower-3")
    forged, _ = mp_post(client, "o-follower-3", "签到", tamper="signature")
    assert forged.status_code == 403 and forged.get_json()["error"]["code"] == "bad_signature"
    forged, _ = mp_post(client, "o-follower-3", "签到", tamper="msg_signature")
    assert forged.status_code == 403
    old, _ = mp_post(client, "o-follower-3", "签到", at=int(time.time()) - 3600)
    assert old.status_code == 403 and old.get_json()["error"]["code"] == "stale_callback"
    first, _ = mp_post(client, "o-follower-3", "积分", nonce="samenonce1", at=int(time.time()))
    replayed, _ = mp_post(client, "o-follower-3", "签到", nonce="samenonce1", at=int(time.time()))
    assert first.status_code == 200 and replayed.status_code == 403
    assert replayed.get_json()["error"]["code"] == "replayed_callback"
    timestamp, nonce = str(int(time.time())), "n-malformed"
    garbage = "<xml><Encrypt><![CDATA[not-base64!!]]></Encrypt></xml>"
    query = {"timestamp": timestamp, "nonce": nonce, "signature": _sign(SANDBOX_BOT_TOKEN, timestamp, nonce),
             "encrypt_type": "aes", "msg_signature": _sign(SANDBOX_BOT_TOKEN, timestamp, nonce, "not-base64!!")}
    malformed = client.post(f"/wechat/mp/callback?{urlencode(query)}", data=garbage, content_type="application/xml")
    assert malformed.status_code == 400 and malformed.get_json()["error"]["code"] == "malformed_message"
    not_xml = client.post(f"/wechat/mp/callback?{urlencode({**query, 'nonce': 'n2', 'signature': _sign(SANDBOX_BOT_TOKEN, timestamp, 'n2')})}",
                          data="{]", content_type="application/xml")
    assert not_xml.status_code == 400
    missing = client.post("/wechat/mp/callback", data="<xml/>")
    assert missing.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 0


def test_the_same_message_delivered_three_times_is_handled_once(app, client, sandbox, programme):
    alice = login(client, "alice")
    bind_member(client, alice, "o-follower-4")
    replies = [mp_post(client, "o-follower-4", "签到", msg_id=424242)[1] for _ in range(3)]
    assert "签到成功" in replies[0]["Content"] and replies[1] == {} and replies[2] == {}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 1
        assert db.session.scalar(select(func.count()).select_from(BotMessage).where(BotMessage.msg_key == "424242")) == 1


def test_the_url_checks_answer_only_with_the_right_signature(client):
    timestamp, nonce = str(int(time.time())), "n-check"
    ok = client.get("/wechat/mp/callback?" + urlencode({"timestamp": timestamp, "nonce": nonce, "echostr": "hello",
                                                         "signature": _sign(SANDBOX_BOT_TOKEN, timestamp, nonce)}))
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "hello"
    bad = client.get("/wechat/mp/callback?" + urlencode({"timestamp": timestamp, "nonce": nonce, "echostr": "hello",
                                                          "signature": "0" * 40}))
    assert bad.status_code == 403
    crypto = WorkCrypto(SANDBOX_BOT_TOKEN, SANDBOX_BOT_AES_KEY, SANDBOX_CORP_ID)
    echo = xmltodict.parse(crypto.encrypt_message("echo-123", nonce, timestamp))["xml"]
    work = client.get("/wechat/work/callback?" + urlencode({"timestamp": timestamp, "nonce": nonce,
                                                            "msg_signature": echo["MsgSignature"],
                                                            "echostr": echo["Encrypt"]}))
    assert work.status_code == 200 and work.get_data(as_text=True) == "echo-123"


@pytest.fixture
def pickup(app, client, programme):
    with app.app_context():
        here, there = make_store("SH01"), make_store("HZ01")
        item = make_item(kind="pickup", store_ids=[here], points_price=100)
    member = login(client, "alice")
    with app.app_context():
        ledger.earn(member["member"]["id"], 1_000, key="seed", reason_code="t", reason="t")
    client.patch("/api/v1/me", json={"nickname": "爱丽丝"}, headers=auth(member))
    order = client.post("/api/v1/mall/orders", json={"item_id": item},
                        headers={**auth(member), "Idempotency-Key": uuid.uuid4().hex}).get_json()
    return {"here": here, "there": there, "order": order, "member": member}


def bind_clerk(client, headers: dict, userid: str) -> None:
    code = client.post("/api/v1/staff/bot-bind-code", headers=headers).get_json()["code"]
    _, reply = work_post(client, userid, f"绑定 {code}")
    assert "绑定成功" in reply["Content"]


def test_a_clerk_verifies_a_pickup_code_in_two_steps(app, client, pickup):
    bind_clerk(client, staff_headers(app, client, [pickup["here"]]), "zhangsan")
    code = pickup["order"]["pickup_code"]
    _, preview = work_post(client, "zhangsan", code)
    assert "保温杯" in preview["Content"] and "爱**" in preview["Content"] and "确认" in preview["Content"]
    assert client.get(f"/api/v1/me/orders/{pickup['order']['order_no']}",
                      headers=auth(pickup["member"])).get_json()["status"] == "awaiting_pickup"
    _, done = work_post(client, "zhangsan", "确认")
    assert "核销成功" in done["Content"]
    assert client.get(f"/api/v1/me/orders/{pickup['order']['order_no']}",
                      headers=auth(pickup["member"])).get_json()["status"] == "fulfilled"
    _, again = work_post(client, "zhangsan", "确认")
    assert "没有待确认" in again["Content"]
    _, today = work_post(client, "zhangsan", "今日")
    assert "核销 1 单" in today["Content"]


def test_a_clerk_of_another_store_cannot_verify_by_message(app, client, pickup):
    bind_clerk(client, staff_headers(app, client, [pickup["there"]], username="hz-clerk"), "lisi")
    _, preview = work_post(client, "lisi", pickup["order"]["pickup_code"])
    assert "不在本门店" in preview["Content"] and "回复「确认」" not in preview["Content"]
    _, confirm = work_post(client, "lisi", "确认")
    assert "没有待确认" in confirm["Content"]
    _, unlinked = work_post(client, "wangwu", pickup["order"]["pickup_code"])
    assert "绑定" in unlinked["Content"] and "保温杯" not in unlinked["Content"]
    assert client.get(f"/api/v1/me/orders/{pickup['order']['order_no']}",
                      headers=auth(pickup["member"])).get_json()["status"] == "awaiting_pickup"


def test_a_menu_click_runs_the_same_command(app, client, sandbox, programme):
    alice = login(client, "alice")
    bind_member(client, alice, "o-follower-5")
    _, reply = mp_post(client, "o-follower-5", event="CLICK", key="签到")
    assert "签到成功" in reply["Content"]


def test_the_sandbox_sends_a_persons_message_to_the_bot_as_wechat_would(app, client, sandbox, live_server, programme):
    import requests

    login(client, "bob")
    sandbox.bot_app_url = live_server
    try:
        answer = requests.post(f"{sandbox.base_url}_sandbox/bot/send", timeout=10,
                               json={"to": "mp", "from": "bob", "content": "积分"}).json()
    finally:
        sandbox.bot_app_url = None
    assert answer["status"] == 200 and "可用积分:100" in answer["reply"]["Content"]


def test_following_through_a_channel_qr_code_is_kept_for_the_funnel(app, client, sandbox, programme):
    from posters.models import Touchpoint

    ops = operator_headers(app, client)
    scene = client.post("/api/v1/admin/channels", json={"kind": "event", "name": "展会"}, headers=ops).get_json()["scene"]
    _, reply = mp_post(client, "o-visitor", event="subscribe", key=f"qrscene_{scene}")
    assert "欢迎关注" in reply["Content"]
    with app.app_context():
        assert db.session.scalar(select(Touchpoint.visitor)) == "mp:o-visitor"


def test_a_member_asks_for_the_poster_and_gets_it_as_a_customer_service_image(app, client, sandbox, programme):
    from tasks.queues import make_worker

    alice = login(client, "alice")
    bind_member(client, alice, "o-follower-6")
    _, reply = mp_post(client, "o-follower-6", "海报")
    assert "海报正在生成" in reply["Content"]
    make_worker(app, fork=False).work(burst=True, with_scheduler=False)
    [sent] = sandbox.sent_custom("o-follower-6")
    assert sent["msgtype"] == "image" and sent["image"]["media_id"] in sandbox.media
