"""Seeding the message templates, automations and a demo robot (idempotent)."""
from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from app.extensions import db
from config.jobs import AUTOMATIONS, TEMPLATES
from tasks.models import Automation, MessageTemplate, Robot


def seed_templates() -> int:
    added = 0
    for spec in TEMPLATES:
        added += db.session.execute(insert(MessageTemplate).values(**spec, active=True)
                                    .on_conflict_do_nothing().returning(MessageTemplate.code)).scalar() is not None
    for spec in AUTOMATIONS:
        db.session.execute(insert(Automation).values(**spec, active=True).on_conflict_do_nothing())
    db.session.commit()
    return added


def seed_demo_robot() -> None:
    db.session.execute(insert(Robot).values(name="运营群", webhook_key="demo-operators-robot", scope="operators",
                                            active=True).on_conflict_do_nothing())
    db.session.commit()
