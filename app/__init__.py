"""The app factory. Importing this package does no work: no config read, no connection made."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask_openapi3 import Info, OpenAPI

API_TITLE = "会员积分中心 API"
API_VERSION = "1.0.0"
SECURITY_SCHEMES = {
    "member": {"type": "http", "scheme": "bearer", "description": "小程序会员令牌 (POST /api/v1/auth/login)"},
    "operator": {"type": "http", "scheme": "bearer", "description": "运营人员令牌 (POST /api/v1/admin/auth/login)"},
    "staff": {"type": "http", "scheme": "bearer", "description": "店员令牌 (POST /api/v1/staff/auth/login)"},
    "integration": {"type": "apiKey", "in": "header", "name": "X-Signature",
                    "description": "品牌系统: X-Integration-Key, X-Timestamp, X-Nonce, X-Signature = "
                                   "hex HMAC-SHA256(secret, '{timestamp}.{nonce}.' + body)"},
}


def create_app(config: dict[str, Any] | None = None) -> OpenAPI:
    """Build the API app. `config` overrides settings by name (tests use it)."""
    from app.errors import validation_error_callback
    from config import load_settings

    settings = load_settings(config)
    app = OpenAPI(
        __name__,
        info=Info(title=API_TITLE, version=API_VERSION,
                  description="微信小程序会员、积分、等级、积分商城与裂变海报的后端服务。"),
        security_schemes=SECURITY_SCHEMES,
        doc_prefix="/api",
        doc_url="/openapi.json",
        validation_error_status=422,
        validation_error_callback=validation_error_callback,
        instance_path=str(Path(__file__).resolve().parent.parent / "instance"),
    )
    configure(app, settings)
    register_logging(app)
    register_extensions(app)
    register_errorhandlers(app)
    register_blueprints(app)
    register_listeners()
    register_commands(app)
    return app


def configure(app: OpenAPI, settings) -> None:
    from app import clock, snapshots
    from app.embedded import postgres_url, redis_url, to_sqlalchemy_url

    instance = Path(app.instance_path)
    database_url = (to_sqlalchemy_url(settings.database_url) if settings.database_url
                    else postgres_url(instance / "pgdata"))
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": settings.db_pool_size, "max_overflow": 20,
                                   "pool_pre_ping": True, "pool_recycle": 1800},
        REDIS_URL=settings.redis_url or redis_url(instance / "redis"),
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        JSON_AS_ASCII=False,
        TESTING=settings.app_env == "test",
        # The console's session cookie and CSRF tokens (the API uses bearer tokens and needs neither).
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.app_env == "production",
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=12 * 3600,
    )
    app.json.ensure_ascii = False
    clock.set_zone(settings.timezone)
    snapshots.ttl_seconds = settings.config_cache_seconds


def register_logging(app: OpenAPI) -> None:
    from app.logging import configure_logging

    configure_logging(app.config["SETTINGS"].log_level)


def register_extensions(app: OpenAPI) -> None:
    from app.extensions import db, init_redis, migrate
    from app.limits import init_limiter

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    init_redis(app)
    init_limiter(app)
    import app.models  # noqa: F401  (every model registered before Alembic compares)


def register_errorhandlers(app: OpenAPI) -> None:
    from app.errors import register_errorhandlers as register
    from app.http import register_request_guards

    register(app)
    register_request_guards(app)


def register_blueprints(app: OpenAPI) -> None:
    from app.checkin.admin_routes import bp as checkin_admin_bp
    from app.checkin.routes import bp as checkin_bp
    from app.earning.admin_routes import bp as earning_admin_bp
    from app.earning.routes import bp as earning_bp
    from app.health import bp as health_bp
    from app.imports.routes import bp as imports_admin_bp
    from app.levels.routes import bp as levels_bp
    from app.offline_events.routes import bp as offline_events_bp
    from app.taskcenter.admin_routes import bp as taskcenter_admin_bp
    from app.taskcenter.routes import bp as taskcenter_bp
    from app.members.routes import bp as members_bp
    from app.operators.routes import bp as operators_bp
    from app.points.admin_routes import bp as points_admin_bp
    from app.points.routes import bp as points_bp
    from app.segments.routes import bp as segments_admin_bp

    from handlers.routes import bp as bot_bp
    from posters.routes import bp as referrals_bp
    from tasks.admin_routes import bp as jobs_admin_bp
    from tasks.routes import bp as subscriptions_bp
    from mall.admin_routes import bp as mall_admin_bp
    from mall.routes import bp as mall_bp
    from mall.staff_routes import bp as staff_bp

    for blueprint in (health_bp, members_bp, points_bp, checkin_bp, taskcenter_bp, earning_bp, offline_events_bp,
                      levels_bp, mall_bp, staff_bp, operators_bp, points_admin_bp, earning_admin_bp, mall_admin_bp,
                      bot_bp, subscriptions_bp, jobs_admin_bp, referrals_bp, segments_admin_bp,
                      imports_admin_bp, checkin_admin_bp, taskcenter_admin_bp):
        app.register_api(blueprint)

    from app.console.auth import csrf
    from app.console.views import bp as console_bp

    csrf.init_app(app)
    app.register_blueprint(console_bp)


def register_listeners() -> None:
    """Features that react to the core's signals (connecting twice is harmless: blinker keeps one)."""
    from app import signals
    from app.audit import recorder

    recorder.install()
    from app.earning import multipliers
    from app.earning.hooks import connect
    from app.levels import service as levels

    connect()
    signals.growth_changed.connect(levels.on_growth_changed)
    signals.purchase_recorded.connect(levels.on_purchase_recorded)
    multipliers.register_level_lookup(levels.level_of)
    from posters import referrals
    from tasks import automations

    automations.connect()
    referrals.connect()


def register_commands(app: OpenAPI) -> None:
    from app.cli import register

    register(app)
