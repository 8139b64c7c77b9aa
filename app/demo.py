"""The demo programme `make run` seeds, from `config/programme.py`. Idempotent: every row is
looked up (or keyed) before it is made, so running it again changes nothing."""
from __future__ import annotations

from collections.abc import Iterator

from flask import current_app
from sqlalchemy import select

from app import clock
from app.checkin.service import settings as checkin_settings
from app.earning.rules import seed_rules
from app.taskcenter.service import seed_tasks
from app.extensions import db
from app.levels.admin import seed_levels
from app.segments.service import seed_tags
from app.members.models import Member
from app.operators.service import ensure_demo_admin
from app.points import service as points
from app.programme.service import ensure_programme
from config.jobs import MEMBER_DAY
from config.programme import DEMO_ADMIN, DEMO_MEMBERS, PROGRAMME

_PROFILE_FIELDS = ("nickname", "birthday", "region", "company", "industry", "company_size", "job_role")


def seed() -> Iterator[str]:
    from app.wechat.sandbox import sandbox_openid

    ensure_programme(**PROGRAMME, **MEMBER_DAY)
    db.session.commit()
    yield f"programme: {PROGRAMME['name']} ({PROGRAMME['points_name']}, {PROGRAMME['points_per_yuan']} = 1 元)"
    yield f"earn rules: {seed_rules()} added"
    checkin_settings()
    db.session.commit()
    yield f"tasks: {seed_tasks()} added"
    yield f"levels: {seed_levels()} added"
    yield f"tags: {seed_tags()} added (rule tags fill at their first rebuild)"
    from mall.demo import seed as seed_mall

    yield from seed_mall()
    from tasks.demo import seed_demo_robot, seed_templates

    yield f"message templates: {seed_templates()} added"
    if current_app.config["SETTINGS"].app_env != "production":
        seed_demo_robot()
        yield "WeCom robot 运营群: key demo-operators-robot (the sandbox's robot)"
    settings = current_app.config["SETTINGS"]
    if settings.app_env != "production":
        _, created = ensure_demo_admin(DEMO_ADMIN["username"], DEMO_ADMIN["password"])
        yield (f"operator {DEMO_ADMIN['username']} / {DEMO_ADMIN['password']}: "
               f"{'created' if created else 'already there'}")
    appid = settings.effective_wechat_appid
    for spec in DEMO_MEMBERS:
        openid = sandbox_openid(appid, spec["name"])
        member = db.session.scalar(select(Member).where(Member.appid == appid, Member.openid == openid))
        if member is None:
            member = Member(appid=appid, openid=openid, last_login_at=clock.now(),
                            **{k: spec[k] for k in _PROFILE_FIELDS if k in spec})
            db.session.add(member)
            db.session.commit()
        points.earn(member.id, spec["welcome_points"], growth=spec["welcome_growth"], key=f"demo:welcome:{member.id}",
                    reason_code="demo_welcome", reason="演示账户欢迎积分")
        yield f"member {spec['name']} (id {member.id}): log in with code '{spec['name']}.1'"
