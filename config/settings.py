"""Settings read from the environment, with typed parsing and safe development defaults.

`load_settings()` is called by the app factory, never at import time. In production the
service refuses to start with the default secret or without an external PostgreSQL and Redis,
and the error names the variable that is missing.
"""
from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "dev-only-secret-change-me"
SANDBOX_APPID = "wx5a1db0x0000000"
SANDBOX_SECRET = "sandbox-secret"
# The bot's sandbox accounts: an official account and a WeCom self-built app, with demo callback keys.
SANDBOX_MP_APPID = "wx0a0bb0x0000000"
SANDBOX_MP_SECRET = "sandbox-mp-secret"
SANDBOX_CORP_ID = "ww0c0bb0x0000000"
SANDBOX_CORP_SECRET = "sandbox-corp-secret"
SANDBOX_BOT_TOKEN = "sandboxbottoken"
SANDBOX_BOT_AES_KEY = "c2FuZGJveC1ib3QtYWVzLWtleS0zMi1ieXRlcyEhISE"  # 43 characters: 32 bytes


class ConfigError(RuntimeError):
    """The environment does not describe a service that may start."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, populate_by_name=True)

    app_env: Literal["development", "test", "production"] = "development"
    secret_key: str = DEFAULT_SECRET_KEY

    # Data stores: unset means "start an embedded one under instance/".
    database_url: str | None = None
    redis_url: str | None = None
    db_pool_size: int = Field(default=10, ge=1, le=200)

    # WeChat mini-program. Unset credentials mean "talk to the local WeChat sandbox".
    wechat_appid: str | None = None
    wechat_secret: str | None = None
    wechat_api_base: str | None = None
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = Field(default=8900, ge=1, le=65535)
    wechat_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    # The bot: an official account (members) and a WeCom self-built app (staff). Unset: the sandbox's.
    # Without an AES key the official account runs in plaintext mode (signature only).
    wechat_mp_appid: str | None = None
    wechat_mp_secret: str | None = None
    wechat_mp_token: str | None = None
    wechat_mp_aes_key: str | None = None
    wecom_corp_id: str | None = None
    wecom_secret: str | None = None
    wecom_agent_id: int | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    push_rate_per_second: int = Field(default=1000, ge=1, le=100_000, description="subscribe messages per second "
                                                                                  "per worker, toward WeChat")
    poster_landing_url: str = Field(default="https://example.com/invite",
                                    description="H5 page a poster's QR code opens when WeChat can't give a mini-program code")
    wecom_robot_base: str | None = Field(default=None, description="WeCom group robots' base URL; unset: the "
                                                                   "sandbox in development, qyapi.weixin.qq.com otherwise")
    bot_max_age_seconds: int = Field(default=300, ge=30, le=3600, description="older callbacks are refused")

    # WeChat Pay (API v2) for points + cash orders. Unset: the sandbox's merchant.
    wechat_pay_mch_id: str | None = None
    wechat_pay_api_key: str | None = None
    public_base_url: str = Field(default="http://127.0.0.1:8000", description="where WeChat reaches this API")
    payment_timeout_minutes: int = Field(default=15, ge=1, le=1440)

    # Programme.
    timezone: str = "Asia/Shanghai"
    member_token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    max_request_bytes: int = Field(default=256 * 1024, ge=1024)
    # How long a process keeps configuration (rules, campaigns, levels...) before re-reading it.
    config_cache_seconds: float = Field(default=2.0, ge=0, le=300)
    log_level: str = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def uses_wechat_sandbox(self) -> bool:
        return not (self.wechat_appid and self.wechat_secret)

    @property
    def sandbox_url(self) -> str:
        return f"http://{self.sandbox_host}:{self.sandbox_port}/"

    @property
    def effective_wechat_api_base(self) -> str | None:
        """Base URL for WeChat calls: explicit, else the sandbox, else None (the real WeChat)."""
        if self.wechat_api_base:
            return self.wechat_api_base.rstrip("/") + "/"
        return self.sandbox_url if self.uses_wechat_sandbox else None

    @property
    def effective_wechat_appid(self) -> str:
        return self.wechat_appid or SANDBOX_APPID

    @property
    def effective_wechat_secret(self) -> str:
        return self.wechat_secret or SANDBOX_SECRET

    @property
    def mp(self) -> dict[str, str | None]:
        """The official account the bot answers for: configured, else the sandbox's (with encryption)."""
        if self.wechat_mp_appid:
            return {"appid": self.wechat_mp_appid, "secret": self.wechat_mp_secret,
                    "token": self.wechat_mp_token, "aes_key": self.wechat_mp_aes_key}
        return {"appid": SANDBOX_MP_APPID, "secret": SANDBOX_MP_SECRET, "token": SANDBOX_BOT_TOKEN,
                "aes_key": SANDBOX_BOT_AES_KEY}

    @property
    def wecom(self) -> dict[str, Any]:
        """The WeCom self-built app the staff bot answers for: configured, else the sandbox's."""
        if self.wecom_corp_id:
            return {"corp_id": self.wecom_corp_id, "secret": self.wecom_secret, "agent_id": self.wecom_agent_id,
                    "token": self.wecom_token, "aes_key": self.wecom_aes_key}
        return {"corp_id": SANDBOX_CORP_ID, "secret": SANDBOX_CORP_SECRET, "agent_id": 1000002,
                "token": SANDBOX_BOT_TOKEN, "aes_key": SANDBOX_BOT_AES_KEY}

    def check_production(self) -> None:
        if self.app_env != "production":
            return
        missing = [name for name, value in (
            ("DATABASE_URL", self.database_url),
            ("REDIS_URL", self.redis_url),
            ("WECHAT_APPID", self.wechat_appid),
            ("WECHAT_SECRET", self.wechat_secret),
        ) if not value]
        if missing:
            raise ConfigError(f"production needs these environment variables set: {', '.join(missing)}")
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
            raise ConfigError("production needs SECRET_KEY set to a random value of at least 32 characters")


def load_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """Read the environment (plus explicit overrides, used by tests) and check it."""
    try:
        settings = Settings(**(overrides or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from exc
    settings.check_production()
    return settings
