"""Invite codes, channel codes, binding an invitee once at registration, and rewarding both sides
when the invitee qualifies.

Codes live in WeChat's `scene` (at most 32 characters of a small alphabet): `i` + 10 random
characters for a member, `c` + 10 for a channel; random, so nothing about member ids can be read
or guessed from them. A member is bound only when they are created, and only to an inviter who is
not themselves and not someone they (transitively) invited. Rewards go through the earn rules
`invite` (for the inviter: caps per day and month) and `invited` (for the invitee, once), keyed per
invitation, under a lock on the invitation row: login, phone binding and retries racing each other
pay both sides exactly once. Sharing or scanning alone never pays (a platform rule).
"""
from __future__ import annotations

import logging
import secrets
import string

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from app import clock
from app.earning import engine
from app.programme import service as programme
from app.errors import Conflict, NotFound, Unprocessable
from app.extensions import db
from app.members.models import Member
from config.programme import REFERRAL
from posters.models import ChannelCode, Invitation, InviteCode, Touchpoint

log = logging.getLogger(__name__)

_ALPHABET = string.ascii_letters + string.digits


def _random_code(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def invite_code(member_id: int) -> str:
    """The member's invite code (made on first use)."""
    code = db.session.scalar(select(InviteCode.code).where(InviteCode.member_id == member_id))
    while code is None:
        created = db.session.execute(insert(InviteCode).values(member_id=member_id, code=_random_code("i"),
                                                               created_at=clock.now())
                                     .on_conflict_do_nothing().returning(InviteCode.code)).scalar()
        db.session.commit()
        code = created or db.session.scalar(select(InviteCode.code).where(InviteCode.member_id == member_id))
    return code


def create_channel(kind: str, name: str) -> ChannelCode:
    channel = ChannelCode(code=_random_code("c"), kind=kind, name=name, active=True, created_at=clock.now())
    db.session.add(channel)
    db.session.commit()
    return channel


def resolve(scene: str | None) -> tuple[int | None, int | None]:
    """(inviter member id, channel id) a scene stands for; (None, None) when it is no code of ours."""
    if not scene:
        return None, None
    if scene.startswith("i"):
        inviter = db.session.execute(select(InviteCode.member_id).join(Member, Member.id == InviteCode.member_id)
                                     .where(InviteCode.code == scene, Member.status == "active")).scalar()
        return inviter, None
    if scene.startswith("c"):
        return None, db.session.scalar(select(ChannelCode.id).where(ChannelCode.code == scene,
                                                                    ChannelCode.active.is_(True)))
    return None, None


def record_scan(scene: str, *, member_id: int | None = None, visitor: str | None = None) -> bool:
    """A code was scanned (by a member, or a visitor who may never register): kept for the funnel."""
    inviter, channel = resolve(scene)
    if inviter is None and channel is None:
        return False
    db.session.add(Touchpoint(member_id=member_id, visitor=visitor, kind="poster_scan" if inviter else "channel_code",
                              inviter_id=inviter, channel_id=channel, at=clock.now()))
    db.session.commit()
    return True


def _invited_by(member_id: int) -> set[int]:
    """Everyone up the member's chain of inviters (to refuse cycles)."""
    rows = db.session.execute(text("""
        WITH RECURSIVE chain AS (
            SELECT inviter_id FROM invitations WHERE invitee_id = :m AND inviter_id IS NOT NULL
            UNION
            SELECT i.inviter_id FROM invitations i JOIN chain ON i.invitee_id = chain.inviter_id
            WHERE i.inviter_id IS NOT NULL
        ) SELECT inviter_id FROM chain"""), {"m": member_id}).scalars()
    return set(rows)


def bind(member_id: int, scene: str | None) -> Invitation | None:
    """Bind a member created just now to the inviter or channel of their scene (once)."""
    inviter, channel = resolve(scene)
    if inviter is None and channel is None:
        return None
    if inviter is not None and (inviter == member_id or member_id in _invited_by(inviter)):
        log.info("member %s: invite code %s refused (self or cycle)", member_id, scene)
        return None
    db.session.add(Touchpoint(member_id=member_id, kind="poster_scan" if inviter else "channel_code",
                              inviter_id=inviter, channel_id=channel, at=clock.now()))
    db.session.execute(insert(Invitation).values(
        invitee_id=member_id, inviter_id=inviter, channel_id=channel, scene=scene, status="registered",
        inviter_points=0, invitee_points=0, registered_at=clock.now()).on_conflict_do_nothing())
    db.session.commit()
    invitation = db.session.scalar(select(Invitation).where(Invitation.invitee_id == member_id))
    if _qualify_on() == "phone" and db.session.scalar(
            select(Member.phone_bound_at).where(Member.id == member_id)) is not None:
        qualify(member_id)  # the phone was bound before this binding committed
    return invitation


def _qualify_on() -> str:
    """When an invitee counts, by the programme's setting: 'phone' (a bound phone) or 'first_purchase'."""
    return programme.current().referral_qualify_on


def qualify(invitee_id: int) -> Invitation | None:
    """The invitee did the real thing (phone bound, or first purchase): reward both sides once."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.invitee_id == invitee_id).with_for_update())
    if invitation is None or invitation.status != "registered":
        db.session.rollback()
        return invitation
    invitation.status, invitation.qualified_at = "qualified", clock.now()
    if invitation.inviter_id is not None:
        inviter = engine.process(engine.Event(
            "invite_qualified", invitation.inviter_id, f"invitation:{invitation.id}:inviter",
            attributes={"points": REFERRAL["inviter_points"], "invitee": invitee_id}), commit=False)
        invitee = engine.process(engine.Event(
            "invited_bonus", invitee_id, f"invitation:{invitation.id}:invitee",
            attributes={"points": REFERRAL["invitee_points"], "inviter": invitation.inviter_id}), commit=False)
        invitation.inviter_points, invitation.invitee_points = inviter.points, invitee.points
        if inviter.points or invitee.points:
            invitation.status = "rewarded"
    db.session.commit()
    return invitation


def on_registered(sender, member_id: int, scene: str | None = None, **_) -> None:
    if not scene:
        return
    try:
        bind(member_id, scene)
    except Exception:  # attribution must never break the registration
        db.session.rollback()
        log.exception("could not bind member %s to scene %s", member_id, scene)


def on_phone_bound(sender, member_id: int, **_) -> None:
    if _qualify_on() != "phone":
        return
    try:
        qualify(member_id)
    except Exception:
        db.session.rollback()
        log.exception("could not qualify the invitation of member %s", member_id)


def my_invitations(member_id: int) -> dict:
    from mall.counter import masked_name

    rows = db.session.execute(select(Invitation, Member).join(Member, Member.id == Invitation.invitee_id)
                              .where(Invitation.inviter_id == member_id).order_by(Invitation.id.desc())).all()
    earned = sum(i.inviter_points for i, _ in rows)
    return {
        "invite_code": invite_code(member_id),
        "invited": [{"member": masked_name(m), "registered_at": i.registered_at.isoformat(), "status": i.status,
                     "points": i.inviter_points} for i, m in rows],
        "total_points": earned,
        "rules": (f"好友通过你的海报或邀请码注册,并{'绑定手机号' if _qualify_on() == 'phone' else '完成首次消费'}后,"
                  f"你得 {REFERRAL['inviter_points']} 积分,好友得 {REFERRAL['invitee_points']} 积分。"
                  "仅分享或扫码不发放奖励;每天、每月的邀请奖励有上限;不能邀请自己。"),
    }


def attribution() -> dict:
    """Per channel and per inviter: scans, registrations, qualified invitees, points paid, and the
    invitees' later purchases (count and amount)."""
    purchases = text("""
        SELECT i.{key} AS source, count(e.id) AS purchases, coalesce(sum((e.attributes->>'amount_cents')::bigint), 0) AS cents
        FROM invitations i JOIN earning_events e ON e.member_id = i.invitee_id AND e.event_type = 'purchase'
        WHERE i.{key} IS NOT NULL GROUP BY i.{key}""")

    def summary(key: str) -> dict[int, dict]:
        out: dict[int, dict] = {}
        scans = db.session.execute(select(getattr(Touchpoint, key), func.count()).where(
            getattr(Touchpoint, key).is_not(None)).group_by(getattr(Touchpoint, key))).all()
        for source, n in scans:
            out.setdefault(source, {})["scans"] = n
        rows = db.session.execute(select(
            getattr(Invitation, key), func.count(),
            func.count().filter(Invitation.status != "registered"),
            func.coalesce(func.sum(Invitation.inviter_points + Invitation.invitee_points), 0))
            .where(getattr(Invitation, key).is_not(None)).group_by(getattr(Invitation, key))).all()
        for source, registered, qualified, points in rows:
            out.setdefault(source, {}).update(registrations=registered, qualified=qualified, points_paid=int(points))
        for source, count, cents in db.session.execute(text(purchases.text.format(key=key))).all():
            out.setdefault(source, {}).update(purchases=count, purchase_cents=int(cents))
        return out

    channels = {c.id: c for c in db.session.scalars(select(ChannelCode))}
    empty = {"scans": 0, "registrations": 0, "qualified": 0, "points_paid": 0, "purchases": 0, "purchase_cents": 0}
    return {
        "channels": [{"id": cid, "code": channels[cid].code, "kind": channels[cid].kind, "name": channels[cid].name,
                      **empty, **figures} for cid, figures in summary("channel_id").items() if cid in channels],
        "inviters": [{"member_id": mid, **empty, **figures} for mid, figures in summary("inviter_id").items()],
    }


def on_purchase(sender, member_id: int, **_) -> None:
    """Inside the purchase's transaction: qualify the invitee after it commits (through the outbox)."""
    if _qualify_on() == "first_purchase":
        from tasks import outbox

        outbox.enqueue("posters.referrals.qualify", member_id, queue="default")


def on_offline_event(sender, member_id: int, offline_event_id: int, **_) -> None:
    db.session.add(Touchpoint(member_id=member_id, kind="offline_event", offline_event_id=offline_event_id,
                              at=clock.now()))
    db.session.commit()


ATTRIBUTION_MODELS = ("first_touch", "last_touch", "linear")


def conversions(model: str = "last_touch") -> list[dict]:
    """Qualified invitees (conversions) credited to the touchpoints that led to them, up to the moment
    they qualified: all to the first, all to the last, or shared equally (linear)."""
    if model not in ATTRIBUTION_MODELS:
        raise Unprocessable(f"归因模型须为 {', '.join(ATTRIBUTION_MODELS)}", code="unknown_attribution_model")
    rows = db.session.execute(
        select(Invitation.invitee_id, Touchpoint.inviter_id, Touchpoint.channel_id, Touchpoint.offline_event_id)
        .join(Touchpoint, Touchpoint.member_id == Invitation.invitee_id)
        .where(Invitation.status != "registered", Touchpoint.at <= Invitation.qualified_at)
        .order_by(Invitation.invitee_id, Touchpoint.at, Touchpoint.id)).all()
    paths: dict[int, list[tuple[str, int]]] = {}
    for invitee, inviter, channel, offline_event in rows:
        source = ("inviter", inviter) if inviter else ("channel", channel) if channel else ("offline_event", offline_event)
        paths.setdefault(invitee, []).append(source)
    credit: dict[tuple[str, int], float] = {}
    for path in paths.values():
        shares = ([(path[0], 1.0)] if model == "first_touch" else [(path[-1], 1.0)] if model == "last_touch"
                  else [(source, 1.0 / len(path)) for source in path])
        for source, share in shares:
            credit[source] = credit.get(source, 0.0) + share
    return [{"source": kind, "id": source_id, "conversions": round(value, 4)}
            for (kind, source_id), value in sorted(credit.items(), key=lambda item: -item[1])]


def connect() -> None:
    from app import signals

    signals.offline_event_attended.connect(on_offline_event)
    signals.member_registered.connect(on_registered)
    signals.member_phone_bound.connect(on_phone_bound)
    signals.purchase_recorded.connect(on_purchase)
