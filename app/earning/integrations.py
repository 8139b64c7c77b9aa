"""Server-to-server authentication for the brand's systems.

Each request carries `X-Integration-Key`, `X-Timestamp` (unix seconds), `X-Nonce` and
`X-Signature` = hex HMAC-SHA256(secret, "{timestamp}.{nonce}." + raw body). A request is refused,
and nothing in it processed, when the signature is wrong, the timestamp is more than five minutes
off, or the nonce was seen in the last ten minutes (replay). The signature is checked before the
nonce is remembered, so a forger cannot burn nonces.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Request
from redis.exceptions import RedisError
from sqlalchemy import select

from app import clock
from app.errors import DomainError, Unauthorized
from app.earning.models import Integration
from app.extensions import db, get_redis

MAX_SKEW_SECONDS = 300
NONCE_TTL_SECONDS = 600


def sign(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.{nonce}.".encode() + body, hashlib.sha256).hexdigest()


def create(name: str, note: str | None = None) -> tuple[Integration, str]:
    """A new integration; the secret is returned once and must be handed to the brand's system."""
    secret = secrets.token_urlsafe(32)
    integration = Integration(key_id="ik_" + secrets.token_hex(8), name=name, secret=secret, note=note)
    db.session.add(integration)
    db.session.commit()
    return integration, secret


def authenticate(request: Request) -> Integration:
    headers = request.headers
    key_id, stamp = headers.get("X-Integration-Key", ""), headers.get("X-Timestamp", "")
    nonce, signature = headers.get("X-Nonce", ""), headers.get("X-Signature", "")
    if not (key_id and stamp and nonce and signature):
        raise Unauthorized("缺少签名头 X-Integration-Key / X-Timestamp / X-Nonce / X-Signature", code="signature_missing")
    if not (8 <= len(nonce) <= 64):
        raise Unauthorized("X-Nonce 长度须为 8 到 64", code="bad_nonce")
    integration = db.session.scalar(select(Integration).where(Integration.key_id == key_id, Integration.active.is_(True)))
    if integration is None:
        raise Unauthorized("未知的接入方", code="unknown_integration")
    try:
        sent_at = int(stamp)
    except ValueError:
        raise Unauthorized("X-Timestamp 须为 Unix 秒", code="stale_request")
    if abs(clock.now().timestamp() - sent_at) > MAX_SKEW_SECONDS:
        raise Unauthorized("请求时间戳过期或超前", code="stale_request")
    expected = sign(integration.secret, stamp, nonce, request.get_data(cache=True))
    if not hmac.compare_digest(expected, signature.lower()):
        raise Unauthorized("签名不正确", code="bad_signature")
    try:
        fresh = get_redis().set(f"s2s-nonce:{key_id}:{nonce}", 1, nx=True, ex=NONCE_TTL_SECONDS)
    except RedisError:
        raise DomainError("暂时无法校验请求,请稍后重试", code="replay_check_unavailable", status=503)
    if not fresh:
        raise Unauthorized("重复的请求(nonce 已使用)", code="replayed_request")
    return integration
