"""Who is behind a follower or a WeCom user.

Members: an official-account follower is linked by unionid (when the mini-program and the official
account share an Open Platform account, WeChat tells us the follower's unionid), or by a one-time
six-digit code the member gets in the mini-program and sends as 绑定 123456. Staff: a WeCom userid
is linked by the same kind of code, got from the staff API. Codes live ten minutes in Redis and
work once; guessing is limited to a few tries per sender.
"""
from __future__ import annotations

import logging
import secrets

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from app import clock
from app.errors import TooManyRequests
from app.extensions import db, get_redis
from app.members.models import Member
from app.staff.models import Staff
from app.wechat.client import WECHAT_FAILURES, official_account
from handlers.models import Follower

log = logging.getLogger(__name__)

CODE_TTL_SECONDS = 600
MAX_TRIES = 5  # wrong codes per sender per code lifetime


def issue_code(kind: str, subject_id: int) -> dict:
    """A fresh one-time code for a member (`kind` "member") or a staff member ("staff")."""
    redis = get_redis()
    for _ in range(20):
        code = f"{secrets.randbelow(10**6):06d}"
        if redis.set(f"bot:bind:{kind}:{code}", subject_id, nx=True, ex=CODE_TTL_SECONDS):
            return {"code": code, "expires_in": CODE_TTL_SECONDS}
    raise TooManyRequests("绑定码暂时发放不过来,请稍后再试", code="bind_code_busy")


def take_code(kind: str, code: str, sender: str) -> int | None:
    """The subject a code was issued to, spending it; None for a wrong or used code."""
    redis = get_redis()
    tries = f"bot:bind-tries:{kind}:{sender}"
    if int(redis.get(tries) or 0) >= MAX_TRIES:
        raise TooManyRequests("尝试次数太多,请 10 分钟后再试", code="bind_tries_exhausted")
    subject = redis.getdel(f"bot:bind:{kind}:{code}")
    if subject is None:
        with redis.pipeline() as pipe:
            pipe.incr(tries).expire(tries, CODE_TTL_SECONDS).execute()
        return None
    return int(subject)


def member_for(openid: str) -> int | None:
    """The active member behind a follower: linked before, or found now by unionid."""
    row = db.session.execute(select(Follower.member_id).join(Member, Member.id == Follower.member_id)
                             .where(Follower.openid == openid, Member.status == "active")).first()
    if row is not None:
        return row.member_id
    redis = get_redis()
    if redis.exists(f"bot:no-unionid:{openid}"):
        return None
    try:
        unionid = official_account().user.get(openid).get("unionid")
    except WECHAT_FAILURES as exc:
        log.warning("could not read follower %s from WeChat: %s", openid, exc)
        return None
    member_id = db.session.scalar(select(Member.id).where(Member.unionid == unionid, Member.status == "active")) \
        if unionid else None
    if member_id is None:
        redis.set(f"bot:no-unionid:{openid}", 1, ex=CODE_TTL_SECONDS)
        db.session.rollback()
        return None
    link_member(openid, member_id, "unionid")
    return member_id


def link_member(openid: str, member_id: int, how: str) -> None:
    """Link a follower to a member (one follower per member: a new link replaces the old one)."""
    db.session.execute(Follower.__table__.delete().where(Follower.member_id == member_id, Follower.openid != openid))
    db.session.execute(insert(Follower).values(openid=openid, member_id=member_id, linked_by=how,
                                               created_at=clock.now())
                       .on_conflict_do_update(index_elements=["openid"],
                                              set_={"member_id": member_id, "linked_by": how}))
    db.session.commit()
    get_redis().delete(f"bot:no-unionid:{openid}")


def staff_for(userid: str) -> Staff | None:
    return db.session.scalar(select(Staff).where(Staff.wecom_userid == userid, Staff.active.is_(True)))


def link_staff(userid: str, staff_id: int) -> None:
    db.session.execute(update(Staff).where(Staff.wecom_userid == userid, Staff.id != staff_id).values(wecom_userid=None))
    db.session.execute(update(Staff).where(Staff.id == staff_id).values(wecom_userid=userid))
    db.session.commit()
