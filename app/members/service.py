"""Member actions: login, phone binding, profile, erasure. Each owns its transaction."""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, IntegrityError

from app import clock, signals
from app.errors import Conflict, UpstreamUnavailable
from app.extensions import db
from app.members.models import Member
from app.points import maintenance
from app.points import service as ledger
from app.wechat.client import WECHAT_FAILURES, mini_program, wechat_error

log = logging.getLogger(__name__)

PERSONAL_FIELDS = ("unionid", "session_key", "phone", "nickname", "avatar_url", "birthday", "region",
                   "company", "industry", "company_size", "job_role", "register_scene", "phone_bound_at")


# A profile is complete (and earns the execution reward once) when these are all filled in.
PROFILE_COMPLETE_FIELDS = ("nickname", "avatar_url", "birthday", "region")


@dataclass(frozen=True)
class LoginResult:
    member: Member
    created: bool


def login(code: str, scene: str | None) -> LoginResult:
    """Exchange a wx.login() code for the member, creating them on first login.

    One INSERT ... ON CONFLICT on (appid, openid) makes concurrent first logins of one person
    create exactly one member. The scene is kept only when the member is created.
    """
    client = mini_program()
    try:
        session = client.wxa.code_to_session(code)
    except WECHAT_FAILURES as exc:
        raise wechat_error(exc) from exc
    openid = session.get("openid") if isinstance(session, dict) else None
    if not openid:
        raise UpstreamUnavailable()

    at = clock.now()
    stmt = insert(Member).values(
        appid=client.appid, openid=openid, unionid=session.get("unionid"),
        session_key=session.get("session_key"), register_scene=scene,
        status="active", gender=0, created_at=at, updated_at=at, last_login_at=at,
    )
    stmt = stmt.on_conflict_do_update(
        constraint="uq_members_appid_openid",
        set_={
            "session_key": stmt.excluded.session_key,
            "unionid": func.coalesce(stmt.excluded.unionid, Member.unionid),
            "last_login_at": stmt.excluded.last_login_at,
        },
    ).returning(Member.id, literal_column("(xmax = 0)").label("created"))
    member_id, created = db.session.execute(stmt).one()
    db.session.commit()
    member = db.session.get(Member, member_id, populate_existing=True)
    if created:
        signals.member_registered.send(current_app._get_current_object(), member_id=member_id, scene=scene)
    return LoginResult(member, bool(created))


def bind_phone(member: Member, code: str) -> Member:
    """Bind the phone number WeChat vouches for. Binding the same number again changes nothing."""
    try:
        answer = mini_program().wxa.get_phone_number(code)
        phone = answer["phone_info"]["purePhoneNumber"]
    except WECHAT_FAILURES as exc:
        raise wechat_error(exc) from exc
    except (KeyError, TypeError) as exc:
        raise UpstreamUnavailable() from exc
    if member.phone == phone:
        return member
    first_binding = member.phone is None
    member.phone = phone
    member.phone_bound_at = clock.now()
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("该手机号已绑定其他会员账号", code="phone_taken")
    if first_binding:
        signals.member_phone_bound.send(current_app._get_current_object(), member_id=member.id)
    return member


def update_profile(member: Member, changes: dict[str, Any]) -> Member:
    """Apply an already validated allow-list of profile changes.

    A birthday, once set, is fixed: birthday gifts would otherwise be farmed by changing it.
    """
    new_birthday = changes.get("birthday", member.birthday)
    if "birthday" in changes and member.birthday is not None and new_birthday != member.birthday:
        raise Conflict("生日设置后不可修改,如需更正请联系客服", code="birthday_locked")
    for field, value in changes.items():
        setattr(member, field, value)
    db.session.commit()
    complete = all(getattr(member, field) for field in PROFILE_COMPLETE_FIELDS)
    signals.member_profile_updated.send(current_app._get_current_object(), member_id=member.id, complete=complete)
    return member


def erase(member: Member) -> None:
    """Erase a member's personal data on their request and close the account: the points left,
    available or pending, are then forfeited through the ledger. Ledger rows stay, pointing at an
    anonymous row.

    Two transactions: the erasure changes the member's key (openid), which waits for every
    transaction whose foreign keys hold the member row, and those may be waiting for the account
    lock, so the erasure must not hold it. The forfeiture then locks the account; should it fail,
    the nightly `maintenance.forfeit_closed_accounts` does it."""
    for field in PERSONAL_FIELDS:
        setattr(member, field, None)
    member.gender = 0
    member.openid = f"erased:{member.id}:{secrets.token_hex(6)}"
    member.status = "erased"
    member.erased_at = clock.now()
    db.session.commit()
    try:
        db.session.execute(select(ledger.account_lock(member.id)))
        maintenance.forfeit_member(member.id)
        db.session.commit()
    except DBAPIError:
        db.session.rollback()
        log.warning("forfeiting the points of erased member %s failed; the nightly job will", member.id, exc_info=True)
    signals.member_erased.send(current_app._get_current_object(), member_id=member.id)


def find_active(member_id: int) -> Member | None:
    return db.session.scalar(select(Member).where(Member.id == member_id, Member.status == "active"))
