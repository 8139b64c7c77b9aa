"""Staff accounts: argon2 passwords, bearer tokens (audience `staff`), store membership checks."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.auth import tokens
from app.auth.passwords import hash_password, password_matches
from app.errors import Conflict, Forbidden, NotFound, Unauthorized
from app.extensions import db
from app.staff.models import Staff, StaffStore, Store

STAFF_TOKEN_TTL = 12 * 3600


def create_store(code: str, name: str, city: str | None = None, address: str | None = None) -> Store:
    store = Store(code=code, name=name, city=city, address=address)
    db.session.add(store)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("门店编码已存在", code="store_code_taken")
    return store


def create_staff(username: str, password: str, role: str, store_ids: list[int], display_name: str | None = None,
                 wecom_userid: str | None = None) -> Staff:
    stores = list(db.session.scalars(select(Store.id).where(Store.id.in_(store_ids))))
    if len(stores) != len(set(store_ids)):
        raise NotFound("门店不存在", code="unknown_store")
    staff = Staff(username=username, display_name=display_name or username, password_hash=hash_password(password),
                  role=role, wecom_userid=wecom_userid)
    db.session.add(staff)
    try:
        db.session.flush()
        db.session.add_all(StaffStore(staff_id=staff.id, store_id=store_id) for store_id in set(store_ids))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("用户名或企业微信账号已存在", code="staff_conflict")
    return staff


def login(username: str, password: str) -> tuple[Staff, tokens.IssuedToken]:
    staff = db.session.scalar(select(Staff).where(Staff.username == username))
    if not password_matches(staff.password_hash if staff and staff.active else None, password):
        raise Unauthorized("用户名或密码错误", code="bad_credentials")
    return staff, tokens.issue("staff", staff.id, STAFF_TOKEN_TTL)


def current_staff() -> Staff:
    staff = db.session.get(Staff, tokens.verify("staff", tokens.bearer_token()))
    if staff is None or not staff.active:
        raise Unauthorized("账号不存在或已停用", code="staff_inactive")
    return staff


def store_ids(staff: Staff) -> set[int]:
    return set(db.session.scalars(select(StaffStore.store_id).where(StaffStore.staff_id == staff.id)))


def require_store(staff: Staff, store_id: int) -> None:
    """Staff act only at their own stores (operators and admins at any)."""
    if staff.role in ("operator", "admin"):
        if db.session.get(Store, store_id) is None:
            raise NotFound("门店不存在", code="unknown_store")
        return
    if store_id not in store_ids(staff):
        raise Forbidden("你不在该门店任职,无法操作", code="not_your_store")
