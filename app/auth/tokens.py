"""Signed, expiring bearer tokens.

A token is `itsdangerous`-signed JSON `{"sub": id, "typ": audience, "exp": unix seconds}` with a
salt per audience, so a member token is never accepted where a staff token is expected. Expiry is
checked against `app.clock`, so tests can move time past it.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from app import clock
from app.errors import Unauthorized


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def _serializer(audience: str) -> URLSafeSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"], audience)


@functools.lru_cache(maxsize=32)
def _serializer_for(secret: str, audience: str) -> URLSafeSerializer:
    """Built once per secret and audience (building one costs more than checking a token)."""
    return URLSafeSerializer(secret, salt=f"bearer-{audience}")


def issue(audience: str, subject: int, ttl_seconds: int) -> IssuedToken:
    expires_at = (clock.now() + timedelta(seconds=ttl_seconds)).replace(microsecond=0)
    payload = {"sub": subject, "typ": audience, "exp": int(expires_at.timestamp())}
    return IssuedToken(_serializer(audience).dumps(payload), expires_at)


def verify(audience: str, token: str) -> int:
    """Return the subject id of a valid token; raise `Unauthorized` otherwise."""
    try:
        payload = _serializer(audience).loads(token)
    except BadSignature:
        raise Unauthorized("登录凭证无效,请重新登录", code="invalid_token")
    if not isinstance(payload, dict) or payload.get("typ") != audience or not isinstance(payload.get("sub"), int):
        raise Unauthorized("登录凭证无效,请重新登录", code="invalid_token")
    expires = datetime.fromtimestamp(int(payload.get("exp", 0)), timezone.utc)
    if expires <= clock.now():
        raise Unauthorized("登录已过期,请重新登录", code="token_expired")
    return payload["sub"]


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("请先登录", code="missing_token")
    return token.strip()


def current_member_id() -> int:
    """The member id in this request's bearer token, without loading the member: for services whose
    own statements require the member to be active (check-in), saving a query on hot paths."""
    return verify("member", bearer_token())


def current_member():
    """The member behind this request's bearer token. Call it once per request."""
    from app.extensions import db
    from app.members.models import Member

    member = db.session.get(Member, verify("member", bearer_token()))
    if member is None or not member.is_active:
        raise Unauthorized("账号不存在或已注销", code="member_inactive")
    return member
