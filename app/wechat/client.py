"""The mini-program client: wechatpy, with its base URL moved in all three places.

wechatpy keeps WeChat's address in (1) `WeChatClient.API_BASE_URL`, (2) each API group's own
`API_BASE_URL` (`client.wxa` wins over the client's), and (3) the token URL written inside
`fetch_access_token()`. With no credentials configured all three point at the local sandbox.
Access tokens are shared between processes through Redis.
"""
from __future__ import annotations

import logging

import requests
from flask import current_app
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from redis.exceptions import RedisError
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from app.errors import BadRequest, DomainError, Forbidden, TooManyRequests, UpstreamUnavailable

log = logging.getLogger(__name__)

WECHAT_BASE = "https://api.weixin.qq.com/"


class SharedTokenStorage(RedisStorage):
    """Access tokens shared between processes through Redis; while Redis is unreachable, kept in
    this process (a token is fetched again at worst), so WeChat calls don't fail with Redis."""

    def __init__(self, redis, prefix: str = "wechatpy") -> None:
        super().__init__(redis, prefix)
        self._local = MemoryStorage()

    def get(self, key, default=None):
        try:
            return super().get(key, default)
        except RedisError:
            return self._local.get(key, default)

    def set(self, key, value, ttl=None):
        self._local.set(key, value, ttl)
        try:
            super().set(key, value, ttl)
        except RedisError:
            log.warning("Redis unreachable: WeChat access token kept in this process only")

    def delete(self, key):
        self._local.delete(key)
        try:
            super().delete(key)
        except RedisError:
            pass


class MiniProgramClient(WeChatClient):
    def __init__(self, appid: str, secret: str, *, api_base: str | None = None,
                 session=None, timeout: float | None = None) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout)
        self.base_url = api_base or WECHAT_BASE
        self.API_BASE_URL = self.base_url + "cgi-bin/"
        self.wxa.API_BASE_URL = self.base_url

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=self.base_url + "cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


def mini_program() -> MiniProgramClient:
    """The app's mini-program client (one per app, created on first use)."""
    client = current_app.extensions.get("wechat_mini")
    if client is None:
        from app.extensions import get_redis

        settings = current_app.config["SETTINGS"]
        client = MiniProgramClient(
            settings.effective_wechat_appid, settings.effective_wechat_secret,
            api_base=settings.effective_wechat_api_base,
            session=SharedTokenStorage(get_redis(), prefix="wechatpy"),
            timeout=settings.wechat_timeout_seconds,
        )
        current_app.extensions["wechat_mini"] = client
    return client


def official_account() -> MiniProgramClient:
    """The official account's client (the bot's customer-service messages, media, follower info):
    the same wechatpy client with the official account's credentials, one per app."""
    client = current_app.extensions.get("wechat_mp")
    if client is None:
        from app.extensions import get_redis

        settings = current_app.config["SETTINGS"]
        account = settings.mp
        client = MiniProgramClient(
            account["appid"], account["secret"] or "", api_base=settings.effective_wechat_api_base,
            session=SharedTokenStorage(get_redis(), prefix="wechatpy-mp"), timeout=settings.wechat_timeout_seconds,
        )
        current_app.extensions["wechat_mp"] = client
    return client


# WeChat error codes a member can act on; everything else is WeChat being unavailable.
_CODE_ERRORS: dict[int, DomainError] = {
    40029: BadRequest("登录凭证无效,请重新打开小程序", code="wechat_code_invalid"),
    40163: BadRequest("登录凭证已被使用,请重新打开小程序", code="wechat_code_used"),
    45011: TooManyRequests("登录太频繁,请稍后再试", code="wechat_rate_limited"),
    40226: Forbidden("该微信账号存在风险,暂时无法登录", code="wechat_user_blocked"),
}


def wechat_error(exc: Exception) -> DomainError:
    """Translate a wechatpy or network failure into the domain error a member sees."""
    if isinstance(exc, WeChatClientException) and exc.errcode is not None:
        known = _CODE_ERRORS.get(int(exc.errcode))
        if known is not None:
            return type(known)(known.message, code=known.code)
    return UpstreamUnavailable()


WECHAT_FAILURES = (WeChatClientException, requests.RequestException, ValueError)
