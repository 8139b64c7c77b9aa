"""Console sign-in: a session cookie (HttpOnly, SameSite=Lax, Secure in production) that ends after
30 idle minutes or 12 hours, CSRF tokens on every form (Flask-WTF), and the same roles as the API:
admin and operator change things, an analyst only reads, a store manager sees only their stores."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import wraps

from flask import abort, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select

from app.audit import recorder as audit
from app.extensions import db
from app.operators import service as operators
from app.operators.models import Operator, OperatorStore

csrf = CSRFProtect()
IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
WRITERS = operators.WRITERS
EVERYONE = ("admin", "operator", "analyst", "store_manager")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def sign_in(username: str, password: str) -> Operator:
    operator, _ = operators.login(username, password)  # raises Unauthorized on bad credentials
    session.clear()
    session.permanent = True
    session.update(operator_id=operator.id, signed_in_at=_now().timestamp(), seen_at=_now().timestamp())
    return operator


def sign_out() -> None:
    session.clear()


def _session_operator() -> Operator | None:
    operator_id = session.get("operator_id")
    if operator_id is None:
        return None
    now = _now().timestamp()
    if now - session.get("seen_at", 0) > IDLE.total_seconds() or now - session.get("signed_in_at", 0) > LIFETIME.total_seconds():
        session.clear()
        return None
    operator = db.session.get(Operator, operator_id)
    if operator is None or not operator.active:
        session.clear()
        return None
    session["seen_at"] = now
    return operator


def signed_in(*roles: str) -> Operator | None:
    """The session's operator if they hold one of `roles` (for checks before a view runs)."""
    operator = _session_operator()
    return operator if operator is not None and operator.role in roles else None


def store_ids(operator: Operator) -> list[int] | None:
    """The stores a store manager may see (None: every store)."""
    if operator.role != "store_manager":
        return None
    return list(db.session.scalars(select(OperatorStore.store_id).where(OperatorStore.operator_id == operator.id)))


def requires(*roles: str):
    """The view needs a signed-in operator holding one of `roles`; changes are then audited as theirs."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            operator = _session_operator()
            if operator is None:
                return redirect(url_for("console.login", next=request.full_path))
            if operator.role not in roles:
                abort(403)
            g.operator = operator
            audit.act_as(operator.id, f"console {request.method} {request.path}")
            return view(*args, **kwargs)
        return wrapper
    return decorate


def can_write() -> bool:
    return g.get("operator") is not None and g.operator.role in WRITERS
