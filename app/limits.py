"""Rate limits (Flask-Limiter, counters in Redis): per IP by default, per member where it matters.

The limiter is one object per process (its decorators are applied at import), bound to the app
that `create_app` builds; a process serves one app.
"""
from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def member_key() -> str:
    """Rate-limit key of the bearer token's member (a fresh login does not reset it); the IP without one."""
    from app.auth import tokens
    from app.errors import Unauthorized

    try:
        return f"member:{tokens.verify('member', tokens.bearer_token())}"
    except Unauthorized:
        return f"ip:{get_remote_address()}"


def init_limiter(app) -> None:
    url = app.config["REDIS_URL"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", "redis+unix://" + url[len("unix://"):] if url.startswith("unix://") else url)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "ratelimit")
    limiter.init_app(app)
