"""Operator accounts: argon2 password hashes, bearer tokens, role checks."""
from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.audit import recorder as audit
from app.auth import tokens
from app.auth.passwords import hash_password, password_matches
from app.errors import Conflict, Forbidden, Unauthorized
from app.extensions import db
from app.operators.models import Operator

OPERATOR_TOKEN_TTL = 12 * 3600
WRITERS = ("admin", "operator")
READERS = ("admin", "operator", "analyst")


def create(username: str, password: str, role: str, display_name: str | None = None) -> Operator:
    if db.session.scalar(select(Operator.id).where(Operator.username == username)) is not None:
        raise Conflict("用户名已存在", code="username_taken")
    operator = Operator(username=username, password_hash=hash_password(password), role=role,
                        display_name=display_name or username)
    db.session.add(operator)
    db.session.commit()
    return operator


def login(username: str, password: str) -> tuple[Operator, tokens.IssuedToken]:
    operator = db.session.scalar(select(Operator).where(Operator.username == username))
    if not password_matches(operator.password_hash if operator and operator.active else None, password):
        raise Unauthorized("用户名或密码错误", code="bad_credentials")
    operator.last_login_at = clock.now()
    db.session.commit()
    return operator, tokens.issue("operator", operator.id, OPERATOR_TOKEN_TTL)


def current_operator(*roles: str) -> Operator:
    """The operator behind this request's bearer token, who must hold one of `roles` (if given).
    Call it once per request."""
    operator = db.session.get(Operator, tokens.verify("operator", tokens.bearer_token()))
    if operator is None or not operator.active:
        raise Unauthorized("账号不存在或已停用", code="operator_inactive")
    if roles and operator.role not in roles:
        raise Forbidden("当前角色无权执行此操作", code="role_forbidden")
    audit.act_as(operator.id)
    return operator


def ensure_demo_admin(username: str, password: str) -> tuple[Operator, bool]:
    existing = db.session.scalar(select(Operator).where(Operator.username == username))
    if existing is not None:
        return existing, False
    return create(username, password, "admin", "演示管理员"), True
