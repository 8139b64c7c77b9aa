"""The WeChat side of the bot: check that a callback is WeChat's and fresh, decrypt it, handle each
message once, and answer (encrypted when the account is) within WeChat's 5 seconds.

A callback is refused, with nothing processed, when its signature is wrong, its timestamp is more
than `BOT_MAX_AGE_SECONDS` away from now, its nonce was seen before, or its XML does not parse.
WeChat delivers a message again (same MsgId) when it got no answer: the `bot_messages` row makes
the second delivery answer empty; a handler that fails frees the row so that a retry can run.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature
from wechatpy.work import create_reply as create_work_reply, parse_message as parse_work_message
from wechatpy.work.crypto import WeChatCrypto as WorkCrypto

from app import clock
from app.errors import BadRequest, Forbidden, UpstreamUnavailable
from app.extensions import db, get_redis
from handlers import linking
from handlers.member_commands import members
from handlers.models import BotMessage
from handlers.registry import Incoming
from handlers.staff_commands import staff

log = logging.getLogger(__name__)


@dataclass
class Signed:
    """The query string WeChat signs a callback with."""
    timestamp: str
    nonce: str
    signature: str | None = None
    msg_signature: str | None = None
    encrypt_type: str | None = None
    echostr: str | None = None


class Refused(Forbidden):
    code, message = "callback_refused", "回调校验失败"


def _settings():
    return current_app.config["SETTINGS"]


def _fresh(signed: Signed) -> None:
    """Refuse an old or future timestamp, and a nonce seen before (a replay)."""
    try:
        age = abs(clock.now().timestamp() - int(signed.timestamp))
    except ValueError:
        raise Refused("时间戳无效", code="bad_timestamp")
    if age > _settings().bot_max_age_seconds:
        raise Refused("回调已过期", code="stale_callback")
    try:
        first = get_redis().set(f"bot:nonce:{signed.nonce}:{signed.timestamp}", 1, nx=True,
                                ex=2 * _settings().bot_max_age_seconds)
    except Exception as exc:  # no Redis, no way to tell a replay: refuse rather than risk one
        raise UpstreamUnavailable("暂时无法处理,请稍后再试") from exc
    if not first:
        raise Refused("重复的回调", code="replayed_callback")


# ---- the official account (members)

def _mp_crypto() -> WeChatCrypto | None:
    account = _settings().mp
    return WeChatCrypto(account["token"], account["aes_key"], account["appid"]) if account["aes_key"] else None


def verify_mp_url(signed: Signed) -> str:
    """The GET check when the URL is configured: echo `echostr` if the signature is the account's."""
    try:
        check_signature(_settings().mp["token"], signed.signature or "", signed.timestamp, signed.nonce)
    except InvalidSignatureException:
        raise Refused("签名错误", code="bad_signature")
    return signed.echostr or ""


def handle_mp(signed: Signed, body: bytes) -> str:
    try:
        check_signature(_settings().mp["token"], signed.signature or "", signed.timestamp, signed.nonce)
    except InvalidSignatureException:
        raise Refused("签名错误", code="bad_signature")
    crypto = _mp_crypto()
    encrypted = signed.encrypt_type == "aes"
    if crypto is not None and not encrypted:
        raise Refused("该公众号使用安全模式,需加密消息", code="encryption_required")
    _fresh(signed)
    try:
        xml = crypto.decrypt_message(body, signed.msg_signature or "", signed.timestamp, signed.nonce) \
            if encrypted and crypto else body
        message = parse_message(xml)
    except InvalidSignatureException:
        raise Refused("消息签名错误", code="bad_signature")
    except Exception as exc:  # wechatpy and xmltodict raise many kinds for malformed input
        raise BadRequest("消息格式错误", code="malformed_message") from exc
    text = _once("mp", message, lambda incoming: members.dispatch(incoming), _incoming_mp)
    if not text:
        return "success"
    reply = create_reply(text, message).render()
    return crypto.encrypt_message(reply, signed.nonce, signed.timestamp) if encrypted and crypto else reply


def _incoming_mp(message: Any) -> Incoming:
    return Incoming("mp", message.source, text=(getattr(message, "content", "") or "").strip(),
                    event=getattr(message, "event", None) if message.type == "event" else None,
                    event_key=_scene_or_key(message), member_id=linking.member_for(message.source))


def _scene_or_key(message: Any) -> str | None:
    key = getattr(message, "key", None) or getattr(message, "scene_id", None)
    return str(key) if key else None


# ---- the WeCom app (staff)

def _work_crypto() -> WorkCrypto:
    app = _settings().wecom
    return WorkCrypto(app["token"], app["aes_key"], app["corp_id"])


def verify_work_url(signed: Signed) -> str:
    try:
        return _work_crypto().check_signature(signed.msg_signature or "", signed.timestamp, signed.nonce,
                                              signed.echostr or "")
    except InvalidSignatureException:
        raise Refused("签名错误", code="bad_signature")
    except Exception as exc:
        raise BadRequest("echostr 无效", code="malformed_message") from exc


def handle_work(signed: Signed, body: bytes) -> str:
    crypto = _work_crypto()
    try:
        xml = crypto.decrypt_message(body, signed.msg_signature or "", signed.timestamp, signed.nonce)
    except InvalidSignatureException:
        raise Refused("签名错误", code="bad_signature")
    except Exception as exc:
        raise BadRequest("消息格式错误", code="malformed_message") from exc
    _fresh(signed)
    try:
        message = parse_work_message(xml)
    except Exception as exc:
        raise BadRequest("消息格式错误", code="malformed_message") from exc
    text = _once("work", message, lambda incoming: staff.dispatch(incoming), _incoming_work)
    if not text:
        return "success"
    return crypto.encrypt_message(create_work_reply(text, message).render(), signed.nonce, signed.timestamp)


def _incoming_work(message: Any) -> Incoming:
    member = linking.staff_for(message.source)
    return Incoming("work", message.source, text=(getattr(message, "content", "") or "").strip(),
                    event=getattr(message, "event", None) if message.type == "event" else None,
                    event_key=_scene_or_key(message), staff_id=member.id if member else None)


# ---- once per message

def _once(channel: str, message: Any, dispatch, incoming_for) -> str:
    """Handle a message unless it was handled before; a failure frees it for WeChat's retry."""
    key = str(message.id) if getattr(message, "id", None) else \
        f"{message.source}:{int(message.create_time.timestamp())}:{getattr(message, 'event', message.type)}"
    row_id = db.session.execute(insert(BotMessage).values(
        channel=channel, msg_key=key[:128], user=message.source[:64], kind=str(getattr(message, "event", None)
                                                                              or message.type)[:32],
        created_at=clock.now()).on_conflict_do_nothing(constraint="uq_bot_messages_channel_key")
        .returning(BotMessage.id)).scalar()
    db.session.commit()
    if row_id is None:
        log.info("bot message %s:%s delivered again; answered empty", channel, key)
        return ""
    try:
        return dispatch(incoming_for(message))
    except Exception:
        db.session.rollback()
        db.session.execute(delete(BotMessage).where(BotMessage.id == row_id))
        db.session.commit()
        raise
