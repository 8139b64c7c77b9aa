"""What the bot needs from the local WeChat sandbox: the official account's media upload,
customer-service messages and follower info, and a way for a person to message the bot as WeChat
would (`POST /_sandbox/bot/send`: the sandbox builds the callback XML, encrypts and signs it with the
sandbox accounts' keys, posts it to the app and decrypts the reply).

`app.wechat.sandbox` mixes `BotStateMixin` into its `SandboxState` and calls `register_bot_routes`.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import requests
import xmltodict
from flask import Flask, Response, jsonify, request
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner
from wechatpy.work.crypto import WeChatCrypto as WorkCrypto

from config.settings import SANDBOX_BOT_AES_KEY, SANDBOX_BOT_TOKEN, SANDBOX_CORP_ID, SANDBOX_MP_APPID

MAX_MEDIA_BYTES = 10 * 1024 * 1024
MP_ACCOUNT = "gh_sandbox_mp"  # the official account's own id (ToUserName of what members send)


class BotStateMixin:
    """The bot half of `SandboxState`: uploaded media and the followers it has seen, under the lock."""

    lock: threading.Lock
    record: Callable[..., None]

    def _reset_bot(self) -> None:
        self.media: dict[str, tuple[str, bytes]] = {}
        self.followers: dict[str, str] = {}  # openid -> sandbox user name
        self.custom_messages: list[dict[str, Any]] = []

    def follower(self, name: str) -> str:
        """The openid of sandbox user `name` in the official account (remembered for user/info)."""
        from app.wechat.sandbox import sandbox_openid

        openid = sandbox_openid(SANDBOX_MP_APPID, name)
        with self.lock:
            self.followers[openid] = name
        return openid

    def sent_custom(self, touser: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.custom_messages if touser is None or m.get("touser") == touser]


def _sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def mp_callback(openid: str, *, content: str | None = None, event: str | None = None, key: str | None = None,
                msg_id: int | None = None, now: int | None = None, token: str = SANDBOX_BOT_TOKEN,
                aes_key: str | None = SANDBOX_BOT_AES_KEY, appid: str = SANDBOX_MP_APPID) -> tuple[dict, str]:
    """(query, body) of an official-account callback as WeChat sends it (encrypted when `aes_key`)."""
    now = now or int(time.time())
    fields = {"ToUserName": MP_ACCOUNT, "FromUserName": openid, "CreateTime": now}
    if event:
        fields.update(MsgType="event", Event=event, **({"EventKey": key} if key is not None else {}))
    else:
        fields.update(MsgType="text", Content=content or "", MsgId=msg_id or secrets.randbelow(10**15))
    plain = xmltodict.unparse({"xml": fields}, full_document=False)
    timestamp, nonce = str(now), secrets.token_hex(8)
    query = {"timestamp": timestamp, "nonce": nonce, "signature": _sign(token, timestamp, nonce), "openid": openid}
    if not aes_key:
        return query, plain
    body = WeChatCrypto(token, aes_key, appid).encrypt_message(plain, nonce, timestamp)
    encrypted = xmltodict.parse(body)["xml"]
    query.update(encrypt_type="aes", msg_signature=encrypted["MsgSignature"])
    return query, body


def work_callback(userid: str, *, content: str | None = None, event: str | None = None, msg_id: int | None = None,
                  now: int | None = None, token: str = SANDBOX_BOT_TOKEN, aes_key: str = SANDBOX_BOT_AES_KEY,
                  corp_id: str = SANDBOX_CORP_ID, agent_id: int = 1000002) -> tuple[dict, str]:
    """(query, body) of a WeCom self-built app callback as WeChat sends it (always encrypted)."""
    now = now or int(time.time())
    fields = {"ToUserName": corp_id, "FromUserName": userid, "CreateTime": now, "AgentID": agent_id}
    if event:
        fields.update(MsgType="event", Event=event)
    else:
        fields.update(MsgType="text", Content=content or "", MsgId=msg_id or secrets.randbelow(10**15))
    plain = xmltodict.unparse({"xml": fields}, full_document=False)
    timestamp, nonce = str(now), secrets.token_hex(8)
    body = WorkCrypto(token, aes_key, corp_id).encrypt_message(plain, nonce, timestamp)
    encrypted = xmltodict.parse(body)["xml"]
    return {"timestamp": timestamp, "nonce": nonce, "msg_signature": encrypted["MsgSignature"]}, body


def read_reply(to: str, body: str, *, token: str = SANDBOX_BOT_TOKEN, aes_key: str = SANDBOX_BOT_AES_KEY) -> dict:
    """The fields of a bot's passive reply (decrypted when it is encrypted); {} for an empty answer."""
    if not body.startswith("<"):
        return {}
    outer = xmltodict.parse(body)["xml"]
    if "Encrypt" not in outer:
        return dict(outer)
    crypto = WeChatCrypto(token, aes_key, SANDBOX_MP_APPID) if to == "mp" else WorkCrypto(token, aes_key, SANDBOX_CORP_ID)
    plain = crypto.decrypt_message(body, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
    return dict(xmltodict.parse(plain)["xml"])


def register_bot_routes(app: Flask, state: Any, clock: Callable[[], float]) -> None:
    def owner() -> str | None:
        from app.wechat.sandbox import WeChatError

        try:
            return state.token_owner(request.args.get("access_token", ""), clock())
        except WeChatError as error:
            return error.body

    @app.post("/cgi-bin/media/upload")
    def media_upload() -> Response:
        who = owner()
        if isinstance(who, dict):
            return jsonify(who)
        upload = request.files.get("media")
        data = upload.read(MAX_MEDIA_BYTES + 1) if upload else b""
        if not data or request.args.get("type") not in ("image", "voice", "video", "thumb"):
            reply = {"errcode": 40004, "errmsg": "invalid media type"}
        elif len(data) > MAX_MEDIA_BYTES:
            reply = {"errcode": 40009, "errmsg": "invalid image size"}
        else:
            media_id = secrets.token_urlsafe(24)
            with state.lock:
                state.media[media_id] = (upload.mimetype or "application/octet-stream", data)
            reply = {"type": request.args["type"], "media_id": media_id, "created_at": int(clock())}
        state.record(clock(), "media_upload", {"type": request.args.get("type", "")}, {"bytes": len(data)}, reply)
        return jsonify(reply)

    @app.get("/cgi-bin/media/get")
    def media_get() -> Response:
        who = owner()
        if isinstance(who, dict):
            return jsonify(who)
        with state.lock:
            found = state.media.get(request.args.get("media_id", ""))
        if found is None:
            return jsonify(errcode=40007, errmsg="invalid media_id")
        return Response(found[1], mimetype=found[0])

    @app.post("/cgi-bin/message/custom/send")
    def custom_send() -> Response:
        who = owner()
        if isinstance(who, dict):
            return jsonify(who)
        body = request.get_json(force=True, silent=True) or {}
        kind = body.get("msgtype")
        if not body.get("touser") or kind not in ("text", "image", "miniprogrampage", "news"):
            reply = {"errcode": 40008, "errmsg": "invalid message type"}
        elif kind == "image" and (body.get("image") or {}).get("media_id") not in state.media:
            reply = {"errcode": 40007, "errmsg": "invalid media_id"}
        else:
            reply = {"errcode": 0, "errmsg": "ok"}
            with state.lock:
                state.custom_messages.append(body)
        state.record(clock(), "custom_send", {}, body, reply)
        return jsonify(reply)

    @app.get("/cgi-bin/user/info")
    def user_info() -> Response:
        from app.wechat.sandbox import sandbox_unionid

        who = owner()
        if isinstance(who, dict):
            return jsonify(who)
        openid = request.args.get("openid", "")
        with state.lock:
            name = state.followers.get(openid)
        reply = ({"subscribe": 1, "openid": openid, "nickname": name, "unionid": sandbox_unionid(name)}
                 if name else {"errcode": 40003, "errmsg": "invalid openid"})
        state.record(clock(), "user_info", {"openid": openid}, None, reply)
        return jsonify(reply)

    @app.post("/_sandbox/bot/send")
    def bot_send() -> tuple[Response, int]:
        """A person messaging the bot: {"to": "mp"|"work", "from": name, "content": "签到"} (or "event")."""
        spec = request.get_json(silent=True) or {}
        target = state.bot_app_url
        to, name = spec.get("to"), str(spec.get("from") or "")
        if to not in ("mp", "work") or not name or not target:
            return jsonify(error="JSON body with to (mp or work) and from needed; the app URL must be known"), 400
        if to == "mp":
            query, body = mp_callback(state.follower(name), content=spec.get("content"), event=spec.get("event"),
                                      key=spec.get("key"))
        else:
            query, body = work_callback(name, content=spec.get("content"), event=spec.get("event"))
        try:
            answer = requests.post(f"{target.rstrip('/')}/wechat/{to}/callback?{urlencode(query)}",
                                   data=body.encode(), headers={"Content-Type": "application/xml"}, timeout=5)
        except requests.RequestException as exc:
            return jsonify(error=f"the app did not answer: {exc}"), 502
        reply = read_reply(to, answer.text) if answer.ok else {"status": answer.status_code, "body": answer.text}
        return jsonify(status=answer.status_code, reply=reply), 200
