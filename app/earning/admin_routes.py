"""Operators: earn rules, campaigns, integrations, and a member's events with their outcomes."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from app.earning import farming, integrations, rules
from app.earning.schemas import (CampaignBody, CampaignOut, IntegrationBody, IntegrationOut, MemberEventOut,
                                 MemberEventPage, RuleBody, RuleList, RuleOut)
from app.members.schemas import ErrorOut
from app.operators.service import READERS, WRITERS, current_operator
from app.pagination import CursorQuery

bp = APIBlueprint("earning_admin", __name__, url_prefix="/api/v1/admin", abp_tags=[Tag(name="运营后台")],
                  abp_security=[{"operator": []}],
                  abp_responses={"401": ErrorOut, "403": ErrorOut, "404": ErrorOut, "409": ErrorOut, "422": ErrorOut})


class RulePath(BaseModel):
    rule_id: int = Field(ge=1)


class CampaignPath(BaseModel):
    campaign_id: int = Field(ge=1)


class MemberPath(BaseModel):
    member_id: int = Field(ge=1)


class FlagPath(BaseModel):
    flag_id: int = Field(ge=1)


class FlagOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    member_id: int
    kind: str
    reason: str
    created_at: datetime


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    resolution: str = Field(min_length=2, max_length=200, description="处理说明;有处罚时也是流水的原因")
    penalty_points: StrictInt = Field(default=0, ge=0, le=10_000_000, description="扣减的积分(处罚),0 为不处罚")


@bp.get("/earn-rules", responses={200: RuleList})
def list_rules():
    """积分规则列表"""
    current_operator(*READERS)
    return RuleList(items=[RuleOut.model_validate(r) for r in rules.list_rules()]).model_dump(mode="json")


@bp.post("/earn-rules", responses={201: RuleOut})
def create_rule(body: RuleBody):
    """新建积分规则"""
    current_operator(*WRITERS)
    return RuleOut.model_validate(rules.create_rule(body.model_dump())).model_dump(mode="json"), 201


@bp.put("/earn-rules/<int:rule_id>", responses={200: RuleOut})
def replace_rule(path: RulePath, body: RuleBody):
    """修改积分规则(整体替换)"""
    current_operator(*WRITERS)
    return RuleOut.model_validate(rules.replace_rule(path.rule_id, body.model_dump())).model_dump(mode="json")


@bp.get("/campaigns")
def list_campaigns():
    """活动(积分倍数)列表"""
    current_operator(*READERS)
    return {"items": [CampaignOut.model_validate(c).model_dump(mode="json") for c in rules.list_campaigns()]}


@bp.post("/campaigns", responses={201: CampaignOut})
def create_campaign(body: CampaignBody):
    """新建活动:在时间段内对指定事件或等级倍数发放积分(如会员日双倍)"""
    current_operator(*WRITERS)
    return CampaignOut.model_validate(rules.create_campaign(body.model_dump())).model_dump(mode="json"), 201


@bp.put("/campaigns/<int:campaign_id>", responses={200: CampaignOut})
def replace_campaign(path: CampaignPath, body: CampaignBody):
    """修改活动(整体替换)"""
    current_operator(*WRITERS)
    campaign = rules.replace_campaign(path.campaign_id, body.model_dump())
    return CampaignOut.model_validate(campaign).model_dump(mode="json")


@bp.post("/integrations", responses={201: IntegrationOut})
def create_integration(body: IntegrationBody):
    """新建接入方(品牌系统),返回签名密钥(仅此一次)"""
    current_operator("admin")
    integration, secret = integrations.create(body.name, body.note)
    return IntegrationOut(key_id=integration.key_id, name=integration.name, secret=secret).model_dump(), 201


@bp.get("/members/<int:member_id>/events", responses={200: MemberEventPage})
def member_events(path: MemberPath, query: CursorQuery):
    """某会员的事件及每条规则的结果(解释"为什么没有积分")"""
    current_operator(*READERS)
    items, next_cursor = rules.member_events(path.member_id, cursor=query.cursor, limit=query.limit)
    return MemberEventPage(items=[MemberEventOut.model_validate(e) for e in items],
                           next_cursor=next_cursor).model_dump(mode="json")


@bp.get("/flags")
def list_flags():
    """待处理的会员标记(如疑似刷分)"""
    current_operator(*READERS)
    return {"items": [FlagOut.model_validate(f).model_dump(mode="json") for f in farming.open_flags()]}


@bp.post("/flags/<int:flag_id>/resolve", responses={200: FlagOut})
def resolve_flag(path: FlagPath, body: ResolveBody):
    """处理标记:可同时对会员处以积分处罚(写入流水)"""
    operator = current_operator(*WRITERS)
    flag = farming.resolve(path.flag_id, operator_id=operator.id, resolution=body.resolution,
                           penalty_points=body.penalty_points)
    return FlagOut.model_validate(flag).model_dump(mode="json")
