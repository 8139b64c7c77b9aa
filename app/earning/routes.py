"""Events in: from the brand's systems (signed) and from the mini-program (client-reported actions)."""
from __future__ import annotations

from flask import request
from flask_openapi3 import APIBlueprint, Tag
from sqlalchemy import select

from app import clock
from app.auth.tokens import current_member
from app.earning import engine, integrations
from app.earning.schemas import ClientAction, EventBatch, EventBatchOut, EventResultOut
from app.errors import Unprocessable
from app.extensions import db
from app.limits import limiter, member_key
from app.members.models import Member
from app.members.schemas import ErrorOut

bp = APIBlueprint("earning", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="赚积分")],
                  abp_responses={"401": ErrorOut, "422": ErrorOut})


def _resolve_members(batch: EventBatch) -> list[int]:
    """Member ids for every event of the batch, or a 422 naming the ones not found (nothing processed)."""
    ids, missing = [], []
    for index, item in enumerate(batch.events):
        condition = Member.id == item.member.id if item.member.id else Member.phone == item.member.phone
        member_id = db.session.scalar(select(Member.id).where(condition, Member.status == "active"))
        if member_id is None:
            missing.append(index)
        ids.append(member_id)
    if missing:
        raise Unprocessable("找不到会员", code="unknown_member", details={"event_indexes": missing})
    return ids


@bp.post("/events", responses={200: EventBatchOut}, security=[{"integration": []}])
def post_events(body: EventBatch):
    """品牌系统上报事件(消费、退款、直播、课程...),HMAC 签名,按 event_id 幂等,支持批量"""
    integration = integrations.authenticate(request)
    events = [engine.Event(item.type, member_id, item.event_id, source=f"integration:{integration.key_id}",
                           occurred_at=item.occurred_at, attributes=item.attributes)
              for item, member_id in zip(body.events, _resolve_members(body))]
    for index, event in enumerate(events):
        try:
            engine.validate(event, from_source="server")
        except Unprocessable as exc:
            exc.details = {"event_index": index, "event_id": event.event_id}
            raise
    results = [engine.process(event).as_dict() for event in events]
    return EventBatchOut(results=results).model_dump(mode="json")


@bp.post("/me/actions", responses={200: EventResultOut, 429: ErrorOut}, security=[{"member": []}])
@limiter.limit("20/minute", key_func=member_key)
@limiter.limit("120/minute")
def report_action(body: ClientAction):
    """小程序上报浏览、分享(每日上限很低;分享奖励不取决于是否被点击)"""
    member = current_member()
    day = clock.today().isoformat()
    event = engine.Event(body.type, member.id, f"{body.type}:{member.id}:{body.target}:{day}", source="client",
                         attributes={"target": body.target})
    engine.validate(event, from_source="client")
    return engine.process(event).as_dict()
