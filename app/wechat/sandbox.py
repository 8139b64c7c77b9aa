"""A local WeChat: a real HTTP server answering the WeChat endpoints this project calls.

wechatpy is pointed at it (see `app/wechat/client.py`), so development, demos and tests exercise the
same HTTP calls and error codes as production. Sandbox users log in with codes like `alice.1`
(`NAME.ANYTHING`); phone-number codes look like `13800138000.1`. Every request is kept and shown at
`/_sandbox/`, so a person running the demo sees what would have been sent to WeChat.
WeChat Pay (API v2, under `/mch/`) lives in `app.wechat.sandbox_pay`, registered here: read its
docstring for what a `WeChatPay` instance must set to reach the sandbox.

Run it alone with `python -m app.wechat.sandbox --host 127.0.0.1 --port 8900`.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import io
import itertools
import os
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import qrcode
from PIL import Image
from flask import Flask, Response, jsonify, render_template, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from app.wechat.sandbox_bot import BotStateMixin, register_bot_routes
from app.wechat.sandbox_pay import (PAY_ENDPOINTS, SANDBOX_MCH_ID, SANDBOX_PAY_KEY, PayStateMixin, describe_pay,
                                    register_pay_routes)

__all__ = ["SANDBOX_MCH_ID", "SANDBOX_PAY_KEY", "SandboxState", "create_sandbox_app", "sandbox_openid",
           "sandbox_unionid", "serve_in_thread"]

Clock = Callable[[], float]
Reply = dict[str, Any] | bytes

TOKEN_TTL_SECONDS = 7200
ROBOT_LIMIT, ROBOT_WINDOW_SECONDS = 20, 60.0
MAX_RECORDS = 10_000
PAGE_RECORDS = 200
MASKED_PARAMS = ("access_token", "secret", "corpsecret")
MASKED_IN_URL = re.compile(r"(?<=[?&])(access_token|secret|corpsecret)=[^&]*")

LOGIN_CODE = re.compile(r"([A-Za-z0-9_-]{1,32})\.(.+)", re.S)
PHONE_CODE = re.compile(r"(1\d{10})\.(.+)", re.S)
SCENE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
PAGE = re.compile(r"[A-Za-z0-9_/-]+")

ERRMSG = {
    -1: "system error", 40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type", 40008: "invalid message type", 40029: "invalid code", 40058: "invalid Parameter",
    40163: "code been used", 40169: "invalid length for scene, or the data is not json string",
    40226: "high risk user", 41002: "appid missing", 41004: "appsecret missing", 41030: "invalid page hint",
    42001: "access_token expired", 43101: "user refuse to accept the msg", 45009: "api freq out of limit",
    45011: "api minute-quota reach limit mustslower retry next minute", 47001: "data format error",
    93000: "invalid webhook url",
}
ENDPOINTS = ("token", "gettoken", "jscode2session", "getuserphonenumber", "getwxacodeunlimit",
             "subscribe_send", "webhook_send")
FAULT_ENDPOINTS = ENDPOINTS + PAY_ENDPOINTS
ROBOT_MSGTYPES = ("text", "markdown", "image", "news", "file", "template_card")


def sandbox_openid(appid: str, name: str) -> str:
    """The openid of sandbox user `name` in app `appid`: stable, and different per app like WeChat's."""
    return "o" + hashlib.sha256(f"openid:{appid}:{name}".encode()).hexdigest()[:27]


def sandbox_unionid(name: str) -> str:
    """The unionid of sandbox user `name`: the same in every app, as if all shared one Open Platform account."""
    return "u" + hashlib.sha256(f"unionid:{name}".encode()).hexdigest()[:27]


class WeChatError(Exception):
    """Raised inside a handler to answer a WeChat error body (still HTTP 200, as WeChat does)."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        super().__init__(errcode)
        self.body = {"errcode": errcode, "errmsg": errmsg or ERRMSG.get(errcode, "sandbox error")}


@dataclass
class Fault:
    endpoint: str
    errcode: int
    errmsg: str | None = None
    times: int = 1
    match: dict[str, Any] = field(default_factory=dict)

    def matches(self, endpoint: str, fields: dict[str, Any]) -> bool:
        return self.endpoint == endpoint and all(fields.get(k) == v for k, v in self.match.items())


class SandboxState(PayStateMixin, BotStateMixin):
    """Everything the sandbox remembers, shared by the server's threads (every access holds the lock).

    `pay_keys` (WeChat Pay merchants: mch_id -> API key) is configuration and survives `reset()`.
    """

    def __init__(self, pay_keys: dict[str, str] | None = None) -> None:
        self.lock = threading.Lock()
        self.pay_keys: dict[str, str] = dict(pay_keys or {SANDBOX_MCH_ID: SANDBOX_PAY_KEY})
        self.base_url: str | None = None
        self.bot_app_url: str | None = None  # where /_sandbox/bot/send posts callbacks
        self._next_id = 1
        self.msgids = itertools.count(1_000_001)
        self.reset()

    def reset(self) -> None:
        """Forget everything. Clients holding a token get 40001 next and fetch a new one, as with WeChat."""
        with self.lock:
            self.tokens: dict[str, tuple[str, float]] = {}
            self.used_login_codes: set[tuple[str, str]] = set()
            self.used_phone_codes: set[tuple[str, str]] = set()
            self.robot_sends: dict[str, deque[float]] = {}
            self.faults: list[Fault] = []
            self.records: list[dict[str, Any]] = []
            self._reset_pay()
            self._reset_bot()

    def issue_token(self, owner: str, now: float) -> str:
        token = secrets.token_urlsafe(48)
        with self.lock:
            self.tokens[token] = (owner, now + TOKEN_TTL_SECONDS)
        return token

    def token_owner(self, token: str, now: float) -> str:
        """The appid (or corpid) a token was issued to; raises 40001 for an unknown one, 42001 for an expired one."""
        with self.lock:
            entry = self.tokens.get(token)
        if entry is None:
            raise WeChatError(40001)
        if entry[1] <= now:
            raise WeChatError(42001)
        return entry[0]

    def spend_code(self, used: set[tuple[str, str]], appid: str, code: str) -> None:
        with self.lock:
            if (appid, code) in used:
                raise WeChatError(40163)
            used.add((appid, code))

    def take_robot_slot(self, key: str, now: float) -> bool:
        """Count a send for robot `key` unless it already sent ROBOT_LIMIT in the last minute."""
        with self.lock:
            sent = self.robot_sends.setdefault(key, deque())
            while sent and sent[0] <= now - ROBOT_WINDOW_SECONDS:
                sent.popleft()
            if len(sent) >= ROBOT_LIMIT:
                return False
            sent.append(now)
            return True

    def add_fault(self, endpoint: str, errcode: int, errmsg: str | None = None, times: int = 1,
                  match: dict[str, Any] | None = None) -> None:
        """Make the next `times` calls of `endpoint` whose fields equal `match` answer `errcode`.

        Pay endpoints (XML, fields are strings) answer result_code FAIL with err_code `errmsg` or SYSTEMERROR.
        """
        if endpoint not in FAULT_ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(FAULT_ENDPOINTS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self.lock:
            self.faults.append(Fault(endpoint, int(errcode), errmsg, times, dict(match or {})))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def pop_fault(self, endpoint: str, fields: dict[str, Any]) -> Fault | None:
        """Spend one use of the first fault matching this call, and return it (None when none matches)."""
        with self.lock:
            fault = next((f for f in self.faults if f.matches(endpoint, fields)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
            return fault

    def take_fault(self, endpoint: str, fields: dict[str, Any]) -> None:
        fault = self.pop_fault(endpoint, fields)
        if fault is not None:
            raise WeChatError(fault.errcode, fault.errmsg)

    def record(self, now: float, endpoint: str, query: dict[str, str], body: Any, response: dict[str, Any]) -> None:
        with self.lock:
            self.records.append({
                "id": self._next_id, "at": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds"),
                "endpoint": endpoint, "query": query, "body": body, "response": response,
            })
            self._next_id += 1
            del self.records[:-MAX_RECORDS]

    def requests(self, endpoint: str | None = None, since_id: int = 0) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.records
                    if r["id"] > since_id and (endpoint is None or r["endpoint"] == endpoint)]

    def clear_records(self) -> None:
        with self.lock:
            self.records.clear()


@dataclass
class Call:
    """One request to a WeChat endpoint, as its handler sees it."""
    query: dict[str, str]
    body: Any
    now: float
    appid: str | None = None


def _masked(query: dict[str, str]) -> dict[str, str]:
    return {k: ("***" if k in MASKED_PARAMS and v else v) for k, v in query.items()}


def _recorded(response: dict[str, Any]) -> dict[str, Any]:
    """The response as kept in the records: a session_key is never kept or shown."""
    return {**response, "session_key": "***"} if "session_key" in response else response


# ---- WeChat endpoints: each takes a Call and returns a JSON dict or PNG bytes, or raises WeChatError.

def _issue(state: SandboxState, call: Call, owner: str) -> dict[str, Any]:
    return {"access_token": state.issue_token(owner, call.now), "expires_in": TOKEN_TTL_SECONDS}


def token(state: SandboxState, call: Call) -> dict[str, Any]:
    if not call.query.get("appid"):
        raise WeChatError(41002)
    if not call.query.get("secret"):
        raise WeChatError(41004)
    if call.query.get("grant_type") != "client_credential":
        raise WeChatError(40002)
    return _issue(state, call, call.query["appid"])


def gettoken(state: SandboxState, call: Call) -> dict[str, Any]:
    if not call.query.get("corpid"):
        raise WeChatError(41002, "corpid missing")
    if not call.query.get("corpsecret"):
        raise WeChatError(41004, "corpsecret missing")
    return {"errcode": 0, "errmsg": "ok", **_issue(state, call, call.query["corpid"])}


def jscode2session(state: SandboxState, call: Call) -> dict[str, Any]:
    appid, code = call.query.get("appid") or call.appid or "", call.query.get("js_code", "")
    login = LOGIN_CODE.fullmatch(code)
    if not login:
        raise WeChatError(40029)
    state.spend_code(state.used_login_codes, appid, code)
    name = login.group(1)
    if name == "blocked":
        raise WeChatError(40226)
    return {"openid": sandbox_openid(appid, name), "session_key": base64.b64encode(secrets.token_bytes(16)).decode(),
            "unionid": sandbox_unionid(name)}


def getuserphonenumber(state: SandboxState, call: Call) -> dict[str, Any]:
    code = call.body.get("code") if isinstance(call.body, dict) else None
    phone = PHONE_CODE.fullmatch(code) if isinstance(code, str) else None
    if not phone:
        raise WeChatError(40029)
    state.spend_code(state.used_phone_codes, call.appid or "", code)
    number = phone.group(1)
    return {"errcode": 0, "errmsg": "ok", "phone_info": {
        "phoneNumber": number, "purePhoneNumber": number, "countryCode": "86",
        "watermark": {"timestamp": int(call.now), "appid": call.appid}}}


def getwxacodeunlimit(state: SandboxState, call: Call) -> bytes:
    """A real QR code (not a round mini-program code) of the scene and page, sized like WeChat's."""
    body = call.body if isinstance(call.body, dict) else {}
    scene, page = body.get("scene"), body.get("page") or ""
    if not isinstance(scene, str) or not SCENE.fullmatch(scene):
        raise WeChatError(40169)
    if not isinstance(page, str) or (page and not PAGE.fullmatch(page)) or page.startswith("/"):
        raise WeChatError(41030)
    try:
        width = max(280, min(1280, int(body.get("width", 430))))
    except (TypeError, ValueError):
        raise WeChatError(47001) from None
    text = f"https://sandbox.wechat.local/wxacode?scene={quote(scene, safe='')}&page={quote(page)}"
    return render_qr(text, width, transparent=bool(body.get("is_hyaline")))


def render_qr(text: str, width: int, transparent: bool = False) -> bytes:
    """PNG of a black QR code of `text`, `width` pixels square, each module a whole number of pixels."""
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    qr.box_size = max(1, width // (qr.modules_count + 2 * qr.border))
    background = (255, 255, 255, 0) if transparent else (255, 255, 255, 255)
    code = qr.make_image(fill_color=(0, 0, 0, 255), back_color=background).get_image().convert("RGBA")
    canvas = Image.new("RGBA", (width, width), background)
    canvas.paste(code, ((width - code.width) // 2, (width - code.height) // 2))
    out = io.BytesIO()
    (canvas if transparent else canvas.convert("RGB")).save(out, format="PNG")
    return out.getvalue()


def subscribe_send(state: SandboxState, call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    if not body.get("touser") or not body.get("template_id") or not isinstance(body.get("data", {}), dict):
        raise WeChatError(47001)
    return {"errcode": 0, "errmsg": "ok", "msgid": next(state.msgids)}


def _robot_message_error(body: Any) -> WeChatError | None:
    """Why WeCom would refuse this group-robot message, or None when it is well formed."""
    msgtype = body.get("msgtype") if isinstance(body, dict) else None
    if msgtype not in ROBOT_MSGTYPES:
        return WeChatError(40008)
    message = body.get(msgtype)
    if not isinstance(message, dict):
        return WeChatError(40058, f"missing {msgtype}")
    if msgtype in ("text", "markdown"):
        content, limit = message.get("content"), 2048 if msgtype == "text" else 4096
        if not isinstance(content, str) or not content:
            return WeChatError(40058, f"missing {msgtype}.content")
        if len(content.encode("utf-8")) > limit:
            return WeChatError(40058, f"{msgtype}.content exceed max length {limit}")
    elif msgtype == "image":
        try:
            raw = base64.b64decode(message.get("base64") or "", validate=True)
        except (binascii.Error, TypeError, ValueError):
            return WeChatError(40058, "invalid image base64")
        if not raw or hashlib.md5(raw).hexdigest() != str(message.get("md5", "")).lower():
            return WeChatError(40058, "image md5 not match")
        if len(raw) > 2 * 1024 * 1024 or not raw.startswith((b"\x89PNG", b"\xff\xd8")):
            return WeChatError(40058, "image must be a JPG or PNG of at most 2MB")
    elif msgtype == "news":
        articles = message.get("articles")
        if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
            return WeChatError(40058, "news.articles must hold 1 to 8 articles")
        if not all(isinstance(a, dict) and a.get("title") and a.get("url") for a in articles):
            return WeChatError(40058, "news article needs title and url")
    elif msgtype == "file" and not message.get("media_id"):
        return WeChatError(40058, "missing file.media_id")
    elif msgtype == "template_card" and not message.get("card_type"):
        return WeChatError(40058, "missing template_card.card_type")
    return None


def webhook_send(state: SandboxState, call: Call) -> dict[str, Any]:
    error = _robot_message_error(call.body)
    if error is not None:
        raise error
    if not state.take_robot_slot(call.query["key"], call.now):
        raise WeChatError(45009)
    return {"errcode": 0, "errmsg": "ok"}


# ---- the Flask app

def _parsed_body() -> Any:
    """The JSON body, whatever the Content-Type (wechatpy posts JSON bytes without one); None if absent or not JSON."""
    return request.get_json(force=True, silent=True) if request.get_data() else None


def create_sandbox_app(state: SandboxState | None = None, clock: Clock = time.time) -> Flask:
    state = state or SandboxState()
    app = Flask(__name__)
    app.json.ensure_ascii = False
    app.extensions["wechat_sandbox"] = state

    def serve(endpoint: str, handler: Callable[[SandboxState, Call], Reply], auth: str | None) -> Response:
        """Authenticate, apply injected faults, run the handler, record the exchange."""
        query, body = request.args.to_dict(), _parsed_body()
        call = Call(query, body, clock())
        try:
            if auth == "access_token":
                call.appid = state.token_owner(query.get("access_token", ""), call.now)
            elif auth == "key" and not query.get("key"):
                raise WeChatError(93000)
            state.take_fault(endpoint, {**query, **(body if isinstance(body, dict) else {})})
            reply = handler(state, call)
        except WeChatError as error:
            reply = error.body
        if isinstance(reply, bytes):
            state.record(call.now, endpoint, _masked(query), body, {"image/png": len(reply)})
            return Response(reply, mimetype="image/png")
        state.record(call.now, endpoint, _masked(query), body, _recorded(reply))
        return jsonify(reply)

    routes: list[tuple[str, str, Callable[[SandboxState, Call], Reply], str | None]] = [
        ("/cgi-bin/token", "GET", token, None),
        ("/cgi-bin/gettoken", "GET", gettoken, None),
        ("/sns/jscode2session", "GET", jscode2session, "access_token"),
        ("/wxa/business/getuserphonenumber", "POST", getuserphonenumber, "access_token"),
        ("/wxa/getwxacodeunlimit", "POST", getwxacodeunlimit, "access_token"),
        ("/cgi-bin/message/subscribe/send", "POST", subscribe_send, "access_token"),
        ("/cgi-bin/webhook/send", "POST", webhook_send, "key"),
    ]
    for rule, method, handler, auth in routes:
        name = handler.__name__
        app.add_url_rule(rule, name, lambda name=name, handler=handler, auth=auth: serve(name, handler, auth),
                         methods=[method])
    register_pay_routes(app, state, clock)
    register_bot_routes(app, state, clock)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.post("/_sandbox/faults")
    def add_fault() -> tuple[Response, int]:
        spec = _parsed_body()
        if isinstance(spec, dict) and spec.get("endpoint") in PAY_ENDPOINTS:
            spec.setdefault("errcode", -1)  # pay faults answer err_code = errmsg, so errcode is optional
        try:
            if not isinstance(spec, dict) or not isinstance(spec.get("errcode"), int):
                raise ValueError("JSON body with endpoint and an integer errcode needed")
            state.add_fault(spec.get("endpoint", ""), spec["errcode"], spec.get("errmsg"),
                            int(spec.get("times", 1)), spec.get("match") or {})
        except (TypeError, ValueError) as error:
            return jsonify(error=str(error)), 400
        return jsonify(status="ok"), 201

    @app.delete("/_sandbox/faults")
    def clear_faults() -> Response:
        state.clear_faults()
        return jsonify(status="ok")

    @app.get("/_sandbox/requests")
    def list_requests() -> Response:
        since_id = request.args.get("since_id", 0, type=int)
        return jsonify(records=state.requests(request.args.get("endpoint") or None, since_id))

    @app.delete("/_sandbox/requests")
    def clear_requests() -> Response:
        state.clear_records()
        return jsonify(status="ok")

    @app.get("/_sandbox/")
    def page() -> str:
        records = state.requests()[-PAGE_RECORDS:][::-1]
        return render_template("sandbox.html", records=[_describe(r) for r in records],
                               orders=state.pay_order_summaries()[::-1])

    return app


def _describe(record: dict[str, Any]) -> dict[str, Any]:
    """A record as the /_sandbox/ page shows it: pushes readable, everything else as its JSON."""
    body, response = record["body"] if isinstance(record["body"], dict) else {}, record["response"]
    ok = response.get("errcode", 0) == 0
    view = {**record, "ok": ok, "error": None if ok else f"{response.get('errcode')} {response.get('errmsg')}",
            "label": None, "text": None, "fields": [], "image": None}
    if record["endpoint"].startswith("pay_"):
        return describe_pay(view)
    if record["endpoint"] == "webhook_send":
        msgtype = body.get("msgtype")
        message = body.get(msgtype) if isinstance(body.get(msgtype), dict) else {}
        view["fields"] = [("robot", record["query"].get("key", "")), ("msgtype", msgtype)]
        if msgtype in ("text", "markdown"):
            view["text"] = message.get("content")
        elif msgtype == "news" and isinstance(message.get("articles"), list):
            view["text"] = "\n".join(f"{a.get('title')}  {a.get('url')}" for a in message["articles"]
                                     if isinstance(a, dict))
        elif msgtype == "image":
            view["image"] = message.get("base64")
            view["body"] = {**body, "image": {**message, "base64": f"({len(str(view['image']))} characters)"}}
    elif record["endpoint"] == "subscribe_send":
        view["fields"] = [(k, body.get(k)) for k in ("touser", "template_id", "page", "miniprogram_state")
                          if body.get(k)]
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        view["text"] = "\n".join(f"{k}: {v.get('value') if isinstance(v, dict) else v}" for k, v in data.items())
    return view


class MaskingRequestHandler(WSGIRequestHandler):
    """Logs request lines with access tokens and secrets masked, as the records keep them."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path, self.path = self.path, MASKED_IN_URL.sub(r"\1=***", self.path)
        try:
            super().log_request(code, size)
        finally:
            self.path = path


def _make_server(host: str, port: int, app: Flask) -> BaseWSGIServer:
    return make_server(host, port, app, threaded=True, request_handler=MaskingRequestHandler)


def serve_in_thread(state: SandboxState | None = None, host: str = "127.0.0.1", port: int = 0,
                    clock: Clock = time.time) -> tuple[BaseWSGIServer, str]:
    """Start the sandbox on a daemon thread; `server.shutdown()` stops it. Port 0 picks a free port."""
    state = state or SandboxState()
    server = _make_server(host, port, create_sandbox_app(state, clock))
    threading.Thread(target=server.serve_forever, args=(0.05,), name="wechat-sandbox", daemon=True).start()
    state.base_url = f"http://{host}:{server.server_port}/"
    return server, state.base_url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local WeChat sandbox: answers like WeChat, shows what was sent.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--app-url", default=os.environ.get("PUBLIC_BASE_URL"),
                        help="the API's base URL, where /_sandbox/bot/send posts the bot's callbacks")
    args = parser.parse_args(argv)
    state = SandboxState()
    state.bot_app_url = args.app_url
    server = _make_server(args.host, args.port, create_sandbox_app(state))
    url = f"http://{args.host}:{server.server_port}/"
    print(f"WeChat sandbox on {url}  (what would have been sent: {url}_sandbox/)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
