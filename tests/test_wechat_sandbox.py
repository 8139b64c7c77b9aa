"""The WeChat sandbox over real HTTP, driven through wechatpy exactly as the app drives WeChat."""
from __future__ import annotations

import base64
import hashlib
import io
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from PIL import Image
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from app.wechat.sandbox import SandboxState, sandbox_openid, sandbox_unionid, serve_in_thread

try:
    import zxingcpp
except ImportError:  # decoding is checked only where zxing-cpp is installed
    zxingcpp = None

APPID, SECRET = "wx_sandbox_test", "test-secret"


class MovableClock:
    """Real time plus an offset the tests can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class SandboxClient(WeChatClient):
    def __init__(self, appid: str, secret: str, base: str) -> None:
        super().__init__(appid, secret)
        self.base = base
        self.API_BASE_URL = base + "cgi-bin/"
        self.wxa.API_BASE_URL = base

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=self.base + "cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


@pytest.fixture(scope="module")
def clock():
    return MovableClock()


@pytest.fixture(scope="module")
def sandbox(clock):
    state = SandboxState()
    server, base = serve_in_thread(state, clock=clock)
    yield state, base
    server.shutdown()


@pytest.fixture
def state(sandbox, clock):
    sandbox[0].reset()
    clock.offset = 0.0
    return sandbox[0]


@pytest.fixture
def base(sandbox, state):
    return sandbox[1]


@pytest.fixture
def wechat(base):
    return SandboxClient(APPID, SECRET, base)


def errcode_of(call, *args, **kwargs) -> int:
    with pytest.raises(WeChatClientException) as caught:
        call(*args, **kwargs)
    return caught.value.errcode


def test_login_with_any_code_of_a_name_gives_that_users_stable_openid(wechat):
    first = wechat.wxa.code_to_session("alice.1")
    second = wechat.wxa.code_to_session("alice.2")
    assert first["openid"] == second["openid"] == sandbox_openid(APPID, "alice")
    assert len(first["openid"]) == 28 and first["openid"].startswith("o")
    assert first["unionid"] == sandbox_unionid("alice")
    assert len(base64.b64decode(first["session_key"])) == 16
    assert first["session_key"] != second["session_key"]
    assert wechat.wxa.code_to_session("bob.1")["openid"] != first["openid"]
    assert sandbox_openid("another-app", "alice") != first["openid"]


def test_login_codes_work_once_and_malformed_or_blocked_ones_are_refused(wechat):
    wechat.wxa.code_to_session("alice.1")
    assert errcode_of(wechat.wxa.code_to_session, "alice.1") == 40163
    for bad in ("no-dot-here", "alice.", ".1", "a" * 33 + ".1", "中文.1"):
        assert errcode_of(wechat.wxa.code_to_session, bad) == 40029
    assert errcode_of(wechat.wxa.code_to_session, "blocked.1") == 40226


def test_phone_number_code_works_once(wechat):
    info = wechat.wxa.get_phone_number("13800138000.a")["phone_info"]
    assert info["phoneNumber"] == info["purePhoneNumber"] == "13800138000"
    assert info["countryCode"] == "86" and info["watermark"]["appid"] == APPID
    assert errcode_of(wechat.wxa.get_phone_number, "13800138000.a") == 40163
    assert errcode_of(wechat.wxa.get_phone_number, "12345.a") == 40029
    assert errcode_of(wechat.wxa.get_phone_number, "23800138000.a") == 40029


def test_wxacode_is_a_png_qr_code_of_the_scene_and_page(wechat, state):
    png = wechat.wxa.get_wxa_code_unlimited("i=ab&c1", page="pages/index/index").content
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.size == (430, 430)
    if zxingcpp is not None:
        decoded = zxingcpp.read_barcode(image)
        assert decoded is not None
        url = urlsplit(decoded.text)
        assert (url.netloc, url.path) == ("sandbox.wechat.local", "/wxacode")
        assert parse_qs(url.query) == {"scene": ["i=ab&c1"], "page": ["pages/index/index"]}
    assert state.requests("getwxacodeunlimit")[-1]["response"] == {"image/png": len(png)}
    sizes = [Image.open(io.BytesIO(wechat.wxa.get_wxa_code_unlimited("s", width=w).content)).size for w in (100, 2000)]
    assert sizes == [(280, 280), (1280, 1280)]


@pytest.mark.parametrize("scene", ["x" * 33, "会员", "a%20b", ""])
def test_wxacode_refuses_a_scene_wechat_would_refuse(wechat, scene):
    assert errcode_of(wechat.wxa.get_wxa_code_unlimited, scene) == 40169


@pytest.mark.parametrize("page", ["/pages/index/index", "pages/index?x=1", "pages/会员"])
def test_wxacode_refuses_a_page_wechat_would_refuse(wechat, page):
    assert errcode_of(wechat.wxa.get_wxa_code_unlimited, "ok", page=page) == 41030


def test_subscribe_message_is_recorded_and_shown(wechat, base):
    openid = sandbox_openid(APPID, "alice")
    data = {"thing1": {"value": "生日快乐"}, "date2": {"value": "2024-03-08"}}
    reply = wechat.wxa.send_subscribe_message(openid, "TPL_BIRTHDAY", data, page="pages/index/index")
    assert reply["errcode"] == 0 and isinstance(reply["msgid"], int)
    listed = requests.get(base + "_sandbox/requests", params={"endpoint": "subscribe_send"}, timeout=5)
    records = listed.json()["records"]
    assert [r["body"]["touser"] for r in records] == [openid]
    assert records[0]["body"]["data"] == data and records[0]["query"]["access_token"] == "***"
    page = requests.get(base + "_sandbox/", timeout=5).text
    assert "微信沙箱" in page and "生日快乐" in page and "TPL_BIRTHDAY" in page
    assert errcode_of(wechat.post, "message/subscribe/send", data={"template_id": "T", "data": {}}) == 47001


def test_records_mask_secrets_and_session_keys(wechat, state):
    wechat.wxa.code_to_session("alice.1")
    token, session = state.requests("token")[-1], state.requests("jscode2session")[-1]
    assert token["query"]["secret"] == "***" and token["response"]["access_token"]
    assert session["query"]["secret"] == "***" and session["response"]["session_key"] == "***"
    since = session["id"]
    wechat.wxa.code_to_session("alice.2")
    assert [r["id"] for r in state.requests(since_id=since)] == [since + 1]


def test_tokens_are_checked_and_wechatpy_recovers_from_a_reset_or_expiry(wechat, state, base, clock):
    answer = requests.get(base + "sns/jscode2session", params={"js_code": "alice.1", "access_token": "forged"},
                          timeout=5).json()
    assert answer["errcode"] == 40001
    assert requests.get(base + "cgi-bin/token", params={"grant_type": "client_credential", "appid": APPID},
                        timeout=5).json()["errcode"] == 41004
    wechat.wxa.code_to_session("alice.1")
    state.reset()
    assert wechat.wxa.code_to_session("alice.1")["openid"] == sandbox_openid(APPID, "alice")
    assert [r["endpoint"] for r in state.requests()] == ["jscode2session", "token", "jscode2session"]
    state.clear_records()
    clock.offset += 7201
    wechat.wxa.code_to_session("alice.3")
    assert [r["response"].get("errcode") for r in state.requests()] == [42001, None, None]
    work = requests.get(base + "cgi-bin/gettoken", params={"corpid": "ww1", "corpsecret": "s"}, timeout=5).json()
    assert work["errcode"] == 0 and len(work["access_token"]) >= 32 and work["expires_in"] == 7200
    assert requests.get(base + "healthz", timeout=5).json() == {"status": "ok"}


def robot(base: str, key: str | None, body: dict) -> dict:
    return requests.post(base + "cgi-bin/webhook/send", params={"key": key} if key else None, json=body,
                         timeout=5).json()


def test_group_robot_allows_twenty_messages_a_minute_per_key(base, clock, state):
    text = {"msgtype": "text", "text": {"content": "新会员注册"}}
    with requests.Session() as http:
        send = lambda: http.post(base + "cgi-bin/webhook/send", params={"key": "K1"}, json=text, timeout=5).json()
        assert [send()["errcode"] for _ in range(20)] == [0] * 20
        assert send()["errcode"] == 45009
        assert robot(base, "K2", text)["errcode"] == 0
        clock.offset += 61
        assert [send()["errcode"] for _ in range(20)] == [0] * 20
        assert send() == {"errcode": 45009, "errmsg": "api freq out of limit"}
    assert len(state.requests("webhook_send")) == 43


def test_group_robot_checks_messages_like_wecom(base):
    assert robot(base, None, {"msgtype": "text", "text": {"content": "x"}})["errcode"] == 93000
    assert robot(base, "K", {"msgtype": "voice", "voice": {}})["errcode"] == 40008
    assert robot(base, "K", {"msgtype": "text", "text": {"content": "字" * 683}})["errcode"] == 40058
    assert robot(base, "K", {"msgtype": "markdown", "markdown": {"content": "**字**" * 585}})["errcode"] == 0
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    png = buffer.getvalue()
    image = {"base64": base64.b64encode(png).decode(), "md5": hashlib.md5(png).hexdigest()}
    assert robot(base, "K", {"msgtype": "image", "image": image})["errcode"] == 0
    assert robot(base, "K", {"msgtype": "image", "image": {**image, "md5": "0" * 32}})["errcode"] == 40058
    article = {"title": "会员日", "url": "https://example.com/"}
    assert robot(base, "K", {"msgtype": "news", "news": {"articles": [article] * 8}})["errcode"] == 0
    assert robot(base, "K", {"msgtype": "news", "news": {"articles": [article] * 9}})["errcode"] == 40058
    assert robot(base, "K", {"msgtype": "news", "news": {"articles": []}})["errcode"] == 40058


def test_injected_fault_fails_the_next_matching_call_once(wechat, state, base):
    alice, bob = sandbox_openid(APPID, "alice"), sandbox_openid(APPID, "bob")
    fault = {"endpoint": "subscribe_send", "errcode": 43101, "match": {"touser": alice}}
    assert requests.post(base + "_sandbox/faults", json=fault, timeout=5).status_code == 201
    assert wechat.wxa.send_subscribe_message(bob, "T", {})["errcode"] == 0
    assert errcode_of(wechat.wxa.send_subscribe_message, alice, "T", {}) == 43101
    assert wechat.wxa.send_subscribe_message(alice, "T", {})["errcode"] == 0

    state.add_fault("jscode2session", errcode=-1, errmsg="system error")
    assert errcode_of(wechat.wxa.code_to_session, "alice.1") == -1
    assert wechat.wxa.code_to_session("alice.2")["openid"] == alice

    state.add_fault("webhook_send", errcode=-1, times=5)
    assert requests.delete(base + "_sandbox/faults", timeout=5).status_code == 200
    assert robot(base, "K", {"msgtype": "text", "text": {"content": "ok"}})["errcode"] == 0
    bad = requests.post(base + "_sandbox/faults", json={"endpoint": "nope", "errcode": 1}, timeout=5)
    assert bad.status_code == 400
