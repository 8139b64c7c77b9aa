"""Operators' changes to what pushes say and where they go: message templates, WeCom group robots,
automations. The operator API and the console's configuration screens both call these.

Templates and automations are seeded by code (`tasks.demo`) and only edited; robots are added and
edited, never deleted (their queued messages point at them): an operator switches one off instead.
A robot's webhook key is a secret (whoever has it can post to the group): nothing here returns it
to be shown, and the audit log masks it.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound, Unprocessable
from app.extensions import db
from app.segments.service import check_segment
from tasks.models import Automation, MessageTemplate, Robot


def list_templates() -> list[MessageTemplate]:
    return list(db.session.scalars(select(MessageTemplate).order_by(MessageTemplate.code)))


def update_template(code: str, fields: dict[str, Any]) -> MessageTemplate:
    template = db.session.get(MessageTemplate, code)
    if template is None:
        raise NotFound("模板不存在", code="unknown_template")
    for name, value in fields.items():
        setattr(template, name, value)
    db.session.commit()
    return template


def list_robots() -> list[Robot]:
    return list(db.session.scalars(select(Robot).order_by(Robot.id)))


def key_hint(robot: Robot) -> str:
    """Enough of a webhook key to tell two robots apart, not enough to use it."""
    return "****" + robot.webhook_key[-4:]


def _commit_robot() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("该机器人已存在或门店不存在", code="robot_conflict")


def create_robot(fields: dict[str, Any]) -> Robot:
    if (fields.get("scope", "operators") == "store") != (fields.get("store_id") is not None):
        raise Unprocessable("门店群机器人须指定门店,运营群机器人不指定", code="robot_scope_invalid")
    robot = Robot(**fields)
    db.session.add(robot)
    _commit_robot()
    return robot


def update_robot(robot_id: int, fields: dict[str, Any]) -> Robot:
    """Rename, switch on or off, or give a new webhook key (a key left out, or None, stays)."""
    robot = db.session.get(Robot, robot_id)
    if robot is None:
        raise NotFound("机器人不存在", code="unknown_robot")
    for name in ("name", "webhook_key", "active"):
        if fields.get(name) is not None:
            setattr(robot, name, fields[name])
    _commit_robot()
    return robot


def list_automations() -> list[Automation]:
    return list(db.session.scalars(select(Automation).order_by(Automation.code)))


def update_automation(code: str, fields: dict[str, Any]) -> Automation:
    """Switch an automation on or off; with `segment` in `fields`, also set its target (None: everyone)."""
    automation = db.session.get(Automation, code)
    if automation is None:
        raise NotFound("自动化不存在", code="unknown_automation")
    if "segment" in fields:
        automation.segment = fields["segment"] and check_segment(fields["segment"])
    automation.active = fields["active"]
    db.session.commit()
    return automation
