"""Members: their invite code and whom they invited; anyone: report a scan of a code; operators:
channel codes and attribution."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from app.auth.tokens import current_member
from app.extensions import db
from app.limits import limiter
from app.members.schemas import SCENE_PATTERN, ErrorOut
from app.operators.service import READERS, WRITERS, current_operator
from posters import referrals, render
from posters.models import ChannelCode

bp = APIBlueprint("referrals", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="邀请与渠道")],
                  abp_responses={"401": ErrorOut, "403": ErrorOut, "422": ErrorOut, "429": ErrorOut})

INVITE_PAGE = "pages/index/index"


class ScanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scene: str = Field(pattern=SCENE_PATTERN, description="小程序码或渠道码携带的 scene")
    visitor: str | None = Field(default=None, max_length=64, description="未登录访客的匿名标识(小程序生成)")


class ChannelBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: str = Field(pattern="^(store|clerk|event|advert)$")
    name: str = Field(min_length=1, max_length=64)


@bp.get("/me/invite-code", security=[{"member": []}])
def my_invite_code():
    """我的邀请码(小程序码 scene 与落地页)"""
    code = referrals.invite_code(current_member().id)
    return {"code": code, "scene": code, "page": INVITE_PAGE}


class PosterQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str | None = Field(default=None, max_length=32, description="海报设计,默认为运营设置的设计")


@bp.get("/me/poster", security=[{"member": []}], responses={"404": ErrorOut})
def my_poster(query: PosterQuery):
    """我的邀请海报(JPEG,含我的小程序码)"""
    from flask import Response

    image, cached = render.poster(current_member().id, query.template)
    return Response(image, mimetype="image/jpeg", headers={"X-Poster-Cache": "hit" if cached else "miss",
                                                            "Cache-Control": "private, max-age=300"})


@bp.get("/poster-templates", security=[{"member": []}])
def poster_templates():
    """可选的海报设计"""
    from config.posters import POSTER_TEMPLATES

    chosen = render.default_template()
    return {"items": [{"code": k, "name": v["name"], "default": k == chosen} for k, v in POSTER_TEMPLATES.items()]}


@bp.get("/me/invitations", security=[{"member": []}])
def my_invitations():
    """我邀请的好友:脱敏昵称、时间、状态(已注册、已达标、已奖励)、我获得的积分,以及活动规则"""
    return referrals.my_invitations(current_member().id)


@bp.post("/scans")
@limiter.limit("30 per minute")
def scan(body: ScanBody):
    """上报一次扫码(可未登录):用于渠道与邀请的漏斗统计,扫码本身不发放奖励"""
    return {"recorded": referrals.record_scan(body.scene, visitor=body.visitor)}


@bp.post("/admin/channels", responses={201: None}, security=[{"operator": []}])
def create_channel(body: ChannelBody):
    """新建渠道码(门店、店员、活动、广告)"""
    current_operator(*WRITERS)
    channel = referrals.create_channel(body.kind, body.name)
    return {"id": channel.id, "code": channel.code, "scene": channel.code, "page": INVITE_PAGE,
            "kind": channel.kind, "name": channel.name}, 201


@bp.get("/admin/channels", security=[{"operator": []}])
def list_channels():
    """渠道码列表"""
    current_operator(*READERS)
    return {"items": [{"id": c.id, "code": c.code, "kind": c.kind, "name": c.name, "active": c.active}
                      for c in db.session.scalars(select(ChannelCode).order_by(ChannelCode.id))]}


class AttributionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(default="last_touch", pattern="^(first_touch|last_touch|linear)$",
                       description="转化归因:首次触点、末次触点或线性平分")


@bp.get("/admin/referrals/attribution", security=[{"operator": []}])
def attribution(query: AttributionQuery):
    """按渠道与邀请人:扫码、注册、达标、已发积分、受邀会员此后的消费;以及按归因模型分配的转化"""
    current_operator(*READERS)
    return {**referrals.attribution(), "model": query.model, "conversions": referrals.conversions(query.model)}
