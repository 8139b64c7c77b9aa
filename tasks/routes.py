"""Members: report the subscribe-message templates they accepted in the mini-program."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from app.auth.tokens import current_member
from app.extensions import db
from app.members.schemas import ErrorOut
from tasks import delivery
from tasks.models import MessageTemplate

bp = APIBlueprint("subscriptions", __name__, url_prefix="/api/v1/me/subscriptions", abp_tags=[Tag(name="订阅消息")],
                  abp_security=[{"member": []}], abp_responses={"401": ErrorOut, "422": ErrorOut})


class GrantsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accepted: list[str] = Field(min_length=1, max_length=20, description="wx.requestSubscribeMessage 中用户同意的模板 ID")


def _view(member_id: int) -> dict:
    counts = delivery.grants(member_id)
    templates = db.session.scalars(select(MessageTemplate).where(MessageTemplate.active.is_(True))
                                   .order_by(MessageTemplate.code)).all()
    return {"templates": [{"code": t.code, "name": t.name, "template_id": t.wechat_template_id,
                           "remaining": counts.get(t.code, 0)} for t in templates]}


@bp.get("")
def my_subscriptions():
    """可订阅的消息模板,以及每个模板我还能收到几条"""
    return _view(current_member().id)


@bp.post("")
def accept(body: GrantsBody):
    """上报用户在小程序里同意的订阅消息模板(每同意一次可收到一条)"""
    member = current_member()
    delivery.record_grants(member.id, [t[:64] for t in body.accepted])
    return _view(member.id)
