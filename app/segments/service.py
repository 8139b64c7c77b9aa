"""Tags and segments: operators' tags, rule tags rebuilt as sets, and what other features target.

A tag's memberships come from two sources. `manual`: an operator tagged the member (on any tag,
also a rule tag, where it pins the member: a rebuild never removes it). `rule`: the tag's rule
selected the member at its last rebuild. A rebuild replaces the tag's rule memberships in one
statement (remove those the rule no longer selects, add the new ones; members still selected keep
their `tagged_at`), so a reader sees the tag before or after, never half of it.

For targeting, `members_in_segment` gives a SELECT of member ids (a tag code, or `rfm:<segment>`)
that campaigns, pushes or the mall can use as a subquery; `admits` is the same test for one member as
an expression to fold into a query the caller makes anyway (the mall's listing and order, so a
restricted item costs no extra round trip), and `check_segment` validates an operator's input.
Erased members are in no segment.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, delete, exists, func, literal, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import DateTime

from app import clock
from app.audit import recorder as audit
from app.errors import Conflict, NotFound, Unprocessable
from app.extensions import db
from app.levels import service as levels
from app.members.models import Member
from app.points.errors import UnknownMember
from app.segments import rules
from app.segments.models import RFM_SEGMENTS, MemberRFM, MemberTag, Tag
from app.segments.rfm import segment_counts
from app.segments.schemas import RuleSpec, TagBody
from config.segments import DEFAULT_TAGS

RFM_PREFIX = "rfm:"


# ---- tags

def _tag(code: str, *, lock: bool = False) -> Tag:
    query = select(Tag).where(Tag.code == code)
    # FOR NO KEY UPDATE: rebuilds of one tag wait for each other, but tagging by hand (whose foreign
    # key check takes a key-share lock on the tag's row) does not wait for a rebuild holding it
    tag = db.session.scalar(query.with_for_update(key_share=True) if lock else query)
    if tag is None:
        raise NotFound("标签不存在", code="unknown_tag")
    return tag


def _member(member_id: int) -> Member:
    member = db.session.get(Member, member_id)
    if member is None:
        raise UnknownMember()
    return member


def _check_rule(rule: dict) -> dict:
    """A rule as stored: validated again (seeds pass here too) and with levels that exist."""
    rule = RuleSpec.model_validate(rule).model_dump(mode="json")
    known = {level.code for level in levels.definitions()}
    for condition in rule["all"]:
        if condition["type"] != "level_in":
            continue
        unknown = [code for code in condition["levels"] if code not in known]
        if unknown:
            raise Unprocessable(f"等级不存在: {', '.join(unknown)}", code="unknown_level")
    return rule


def _counts(tag_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(manual, rule) memberships of active members, per tag."""
    rows = db.session.execute(
        select(MemberTag.tag_id, func.count().filter(MemberTag.source == "manual"),
               func.count().filter(MemberTag.source == "rule"))
        .join(Member, and_(Member.id == MemberTag.member_id, Member.status == "active"))
        .where(MemberTag.tag_id.in_(tag_ids)).group_by(MemberTag.tag_id)).all()
    return {tag_id: (manual, rule) for tag_id, manual, rule in rows}


def _describe(tag: Tag, counts: tuple[int, int]) -> dict[str, Any]:
    manual, rule = counts
    return {"code": tag.code, "name": tag.name, "description": tag.description, "kind": tag.kind, "rule": tag.rule,
            "active": tag.active, "members": manual + rule, "manual_members": manual, "rule_members": rule,
            "refreshed_at": tag.refreshed_at, "created_at": tag.created_at}


def describe(code: str) -> dict[str, Any]:
    tag = _tag(code)
    return _describe(tag, _counts([tag.id]).get(tag.id, (0, 0)))


def list_tags() -> list[dict[str, Any]]:
    tags = list(db.session.scalars(select(Tag).order_by(Tag.kind, Tag.id)))
    counts = _counts([t.id for t in tags])
    return [_describe(t, counts.get(t.id, (0, 0))) for t in tags]


def create_tag(fields: dict[str, Any]) -> dict[str, Any]:
    """A new tag; an active rule tag is built at once, so its count means something straight away."""
    if fields.get("rule") is not None:
        fields = {**fields, "rule": _check_rule(fields["rule"])}
    tag = Tag(**fields)  # held until the commit: the audit log reads the new row after its flush
    db.session.add(tag)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("标签编码已存在", code="tag_exists")
    if fields["kind"] == "rule" and fields.get("active", True):
        refresh(fields["code"])
    return describe(fields["code"])


def update_tag(code: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Change the fields given; a rule tag whose rule changed, or that is switched on, is rebuilt."""
    tag = _tag(code, lock=True)
    if "rule" in fields:
        if tag.kind != "rule":
            raise Unprocessable("手工标签不能设置 rule", code="manual_tag_has_no_rule")
        if fields["rule"] is None:
            raise Unprocessable("规则标签的 rule 不能为空", code="rule_required")
        fields = {**fields, "rule": _check_rule(fields["rule"])}
    rebuild = tag.kind == "rule" and (fields.get("rule", tag.rule) != tag.rule or
                                      (fields.get("active") and not tag.active))
    for name, value in fields.items():
        setattr(tag, name, value)
    db.session.commit()
    if rebuild and tag.active:
        refresh(code)
    return describe(code)


def refresh(code: str) -> dict[str, Any]:
    """Rebuild a rule tag's rule memberships from its rule, in one statement and one transaction.
    Rebuilds of one tag wait for each other (the tag's row is locked)."""
    tag = _tag(code, lock=True)
    if tag.kind != "rule":
        raise Conflict("手工标签没有规则,无需刷新", code="manual_tag")
    if not tag.active:
        raise Conflict("标签已停用", code="tag_inactive")
    at = clock.now()
    matches = rules.matching_members(tag.rule).cte("matches")
    removed = (delete(MemberTag).where(MemberTag.tag_id == tag.id, MemberTag.source == "rule",
                                       ~exists().where(matches.c.id == MemberTag.member_id))
               .returning(MemberTag.member_id).cte("removed"))
    added = (insert(MemberTag).from_select(
        ["member_id", "tag_id", "source", "tagged_at"],
        select(matches.c.id, literal(tag.id), literal("rule"), literal(at, DateTime(timezone=True))))
        .on_conflict_do_nothing().returning(MemberTag.member_id).cte("added"))
    added_count, removed_count = db.session.execute(select(
        select(func.count()).select_from(added).scalar_subquery(),
        select(func.count()).select_from(removed).scalar_subquery())).one()
    # the memberships were written in SQL, which the session's audit watch does not see
    audit.note("member_tags", f"tag:{code}", "update", after={"added": added_count, "removed": removed_count})
    tag.refreshed_at = at
    db.session.commit()
    return {"tag": code, "members": describe(code)["members"], "added": added_count, "removed": removed_count,
            "refreshed_at": at}


def refresh_rule_tags() -> dict[str, int]:
    """The daily job (after RFM): rebuild every active rule tag, each in its own transaction."""
    codes = list(db.session.scalars(select(Tag.code).where(Tag.kind == "rule", Tag.active).order_by(Tag.id)))
    db.session.rollback()
    return {code: refresh(code)["members"] for code in codes}


def seed_tags() -> int:
    """The default tags of `config/segments.py` not there yet (rule tags fill at their first rebuild)."""
    taken = set(db.session.scalars(select(Tag.code)))
    added = 0
    for spec in DEFAULT_TAGS:
        if spec["code"] in taken:
            continue
        fields = TagBody.model_validate(spec).model_dump(mode="json")
        if fields["rule"] is not None:
            fields["rule"] = _check_rule(fields["rule"])
        db.session.add(Tag(**fields))
        added += 1
    db.session.commit()
    return added


# ---- memberships

def tag_member(member_id: int, code: str, operator_id: int) -> tuple[dict[str, Any], bool]:
    """Tag a member by hand (True: newly tagged, or pinned where the rule had tagged them; False:
    already tagged by hand). Written through the session, so the audit log sees it."""
    tag, member = _tag(code), _member(member_id)
    if member.status != "active":
        raise Conflict("会员已注销", code="member_erased")
    if not tag.active:
        raise Conflict("标签已停用", code="tag_inactive")
    for attempt in range(2):
        row = db.session.get(MemberTag, (member.id, tag.id), with_for_update=True, populate_existing=True)
        if row is not None and row.source == "manual":
            already = _membership(row, tag)
            db.session.rollback()
            return already, False
        if row is None:
            row = MemberTag(member_id=member.id, tag_id=tag.id)
            db.session.add(row)
        row.source, row.tagged_at, row.tagged_by = "manual", clock.now(), operator_id
        try:
            db.session.commit()
            return _membership(row, tag), True
        except IntegrityError:  # tagged at the same moment by another request or a rebuild: look again
            db.session.rollback()
            if attempt:
                raise


def _membership(row: MemberTag, tag: Tag) -> dict[str, Any]:
    return {"member_id": row.member_id, "tag": tag.code, "source": row.source, "tagged_at": row.tagged_at,
            "tagged_by": row.tagged_by}


def untag_member(member_id: int, code: str) -> bool:
    """Remove a tag given by hand (False: the member did not have it). A membership the tag's rule
    keeps cannot be removed by hand: the next rebuild would bring it back."""
    tag, member = _tag(code), _member(member_id)
    row = db.session.get(MemberTag, (member.id, tag.id), with_for_update=True)
    if row is None:
        db.session.rollback()
        return False
    if row.source == "rule":
        db.session.rollback()
        raise Conflict("该会员由标签规则自动标记,修改规则才能移除", code="tagged_by_rule")
    db.session.delete(row)
    db.session.commit()
    return True


def tagged_members(code: str, *, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """The active members with a tag, newest tagged first, one page, and how many there are."""
    tag = _tag(code)
    where = (MemberTag.tag_id == tag.id, Member.status == "active")
    total = db.session.scalar(select(func.count()).select_from(MemberTag)
                              .join(Member, Member.id == MemberTag.member_id).where(*where))
    rows = db.session.execute(
        select(MemberTag, Member.nickname).join(Member, Member.id == MemberTag.member_id).where(*where)
        .order_by(MemberTag.tagged_at.desc(), MemberTag.member_id.desc())
        .offset((page - 1) * per_page).limit(per_page)).all()
    return [{"member_id": mt.member_id, "nickname": nickname, "source": mt.source, "tagged_at": mt.tagged_at,
             "tagged_by": mt.tagged_by} for mt, nickname in rows], total


def tags_of(member_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(select(Tag, MemberTag).join(MemberTag, MemberTag.tag_id == Tag.id)
                              .where(MemberTag.member_id == member_id).order_by(MemberTag.tagged_at, Tag.id)).all()
    return [{"code": tag.code, "name": tag.name, "kind": tag.kind, "source": mt.source, "tagged_at": mt.tagged_at,
             "tagged_by": mt.tagged_by} for tag, mt in rows]


# ---- RFM and targeting

def rfm_of(member_id: int) -> dict[str, Any] | None:
    row = db.session.get(MemberRFM, member_id)
    if row is None:
        return None
    return {"recency_days": row.recency_days, "frequency": row.frequency, "monetary_cents": row.monetary_cents,
            "r_score": row.r_score, "f_score": row.f_score, "m_score": row.m_score, "segment": row.segment,
            "segment_name": RFM_SEGMENTS[row.segment], "computed_at": row.computed_at}


def member_segments(member_id: int) -> dict[str, Any]:
    member = _member(member_id)
    return {"member_id": member.id, "tags": tags_of(member.id), "rfm": rfm_of(member.id)}


def rfm_summary() -> dict[str, Any]:
    counts = segment_counts()
    unscored = db.session.scalar(select(func.count()).select_from(Member).where(
        Member.status == "active", ~exists().where(MemberRFM.member_id == Member.id)))
    return {"computed_at": db.session.scalar(select(func.max(MemberRFM.computed_at))),
            "scored_members": sum(counts.values()), "unscored_members": unscored,
            "segments": [{"code": code, "name": name, "members": counts.get(code, 0)}
                         for code, name in RFM_SEGMENTS.items()]}


def _segment_tag_id(segment: str) -> int | None:
    """None for an `rfm:` segment; the tag's id for a tag code. NotFound when it names no segment."""
    if segment.startswith(RFM_PREFIX):
        if segment[len(RFM_PREFIX):] not in RFM_SEGMENTS:
            raise NotFound("RFM 分群不存在", code="unknown_segment")
        return None
    tag_id = db.session.scalar(select(Tag.id).where(Tag.code == segment))
    if tag_id is None:
        raise NotFound(f"分群不存在: {segment}", code="unknown_segment")
    return tag_id


def check_segment(segment: str) -> str:
    """The segment an operator chose as a target (a tag code, or `rfm:<segment code>`), if it exists;
    NotFound `unknown_segment` otherwise. A switched-off tag is still a segment: it keeps its members."""
    _segment_tag_id(segment)
    return segment


def members_in_segment(segment: str) -> Select:
    """SELECT member_id of the active members in a segment: a tag code, or `rfm:<segment code>`
    (e.g. `rfm:important_value`). Use it as a subquery: `Member.id.in_(members_in_segment("dormant_30"))`."""
    tag_id = _segment_tag_id(segment)
    if tag_id is None:
        return (select(MemberRFM.member_id).join(Member, Member.id == MemberRFM.member_id)
                .where(MemberRFM.segment == segment[len(RFM_PREFIX):], Member.status == "active"))
    return (select(MemberTag.member_id).join(Member, Member.id == MemberTag.member_id)
            .where(MemberTag.tag_id == tag_id, Member.status == "active"))


def admits(member_id: Any, segment: Any) -> ColumnElement[bool]:
    """SQL that is true when `segment` lets the member `member_id` in: no segment (NULL), or an active
    member in it. Either may be a column, a bound parameter or a value, e.g. `admits(member.id,
    Item.segment)` in the WHERE of the mall's listing. A segment that names nothing admits nobody.
    The CASE makes PostgreSQL look up memberships only for rows that have a segment."""
    if isinstance(member_id, int):
        member_id = literal(member_id)
    if isinstance(segment, str):
        segment = literal(segment, String)
    active = exists().where(Member.id == member_id, Member.status == "active")
    in_rfm = exists().where(MemberRFM.member_id == member_id,
                            MemberRFM.segment == func.substr(segment, len(RFM_PREFIX) + 1))
    tagged = exists().where(MemberTag.member_id == member_id, MemberTag.tag_id == Tag.id, Tag.code == segment)
    return case((segment.is_(None), true()),
                (segment.startswith(RFM_PREFIX), and_(in_rfm, active)),
                else_=and_(tagged, active))


def is_member(member_id: int, segment: str) -> bool:
    """Whether an active member is in a segment (one query; False for a segment that names nothing)."""
    return bool(db.session.scalar(select(admits(member_id, segment))))
