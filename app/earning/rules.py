"""Operators' changes to earn rules and campaigns, checked against the event catalogue."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.earning.models import Campaign, EarningEvent, EarnRule
from app.errors import Conflict, NotFound, Unprocessable
from app.extensions import db
from app.pagination import cursor_page, decode_cursor
from app.segments.service import check_segment
from config.earning import DEMO_RULES, EVENT_TYPES


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    spec = EVENT_TYPES.get(fields["event_type"])
    if spec is None or fields["event_type"] == "refund":
        raise Unprocessable(f"未知或不可配置的事件类型: {fields['event_type']}", code="unknown_event_type")
    fields["category"] = fields.get("category") or spec["category"]
    return fields


def list_rules() -> list[EarnRule]:
    return list(db.session.scalars(select(EarnRule).order_by(EarnRule.event_type, EarnRule.id)))


def create_rule(fields: dict[str, Any]) -> EarnRule:
    rule = EarnRule(**_checked(fields))
    db.session.add(rule)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("规则编码已存在", code="rule_code_taken")
    return rule


def replace_rule(rule_id: int, fields: dict[str, Any]) -> EarnRule:
    rule = db.session.get(EarnRule, rule_id)
    if rule is None:
        raise NotFound("规则不存在", code="unknown_rule")
    for name, value in _checked(fields).items():
        setattr(rule, name, value)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("规则编码已存在或预算小于已发放", code="rule_conflict")
    return rule


def seed_rules() -> int:
    """The demo programme's rules (by code, so seeding twice changes nothing)."""
    existing = set(db.session.scalars(select(EarnRule.code)))
    added = 0
    for spec in DEMO_RULES:
        if spec["code"] not in existing:
            db.session.add(EarnRule(**_checked(dict(spec))))
            added += 1
    db.session.commit()
    return added


def list_campaigns() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.starts_at.desc())))


def _checked_campaign(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = [t for t in fields.get("event_types") or [] if t not in EVENT_TYPES]
    if unknown:
        raise Unprocessable(f"未知的事件类型: {', '.join(unknown)}", code="unknown_event_type")
    if fields.get("segment") is not None:
        check_segment(fields["segment"])
    return fields


def create_campaign(fields: dict[str, Any]) -> Campaign:
    campaign = Campaign(**_checked_campaign(fields))
    db.session.add(campaign)
    db.session.commit()
    return campaign


def replace_campaign(campaign_id: int, fields: dict[str, Any]) -> Campaign:
    """Every field of the campaign at once, checked as a new one is."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("活动不存在", code="unknown_campaign")
    for name, value in _checked_campaign(fields).items():
        setattr(campaign, name, value)
    db.session.commit()
    return campaign


def member_events(member_id: int, *, cursor: str | None, limit: int) -> tuple[list[EarningEvent], str | None]:
    """A member's events, newest first, with each rule's outcome: the answer to "why nothing?"."""
    query = select(EarningEvent).where(EarningEvent.member_id == member_id)
    below = decode_cursor(cursor)
    if below is not None:
        query = query.where(EarningEvent.id < below)
    rows = list(db.session.scalars(query.order_by(EarningEvent.id.desc()).limit(limit + 1)))
    return cursor_page(rows, limit)
