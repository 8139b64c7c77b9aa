"""Operators: tags, tagging members by hand, rule tag rebuilds, RFM. Members have no view of these."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from app.members.schemas import ErrorOut
from app.operators.service import READERS, WRITERS, current_operator
from app.pagination import PageQuery
from app.segments import service
from app.segments.schemas import (MemberSegmentsOut, MembershipOut, RefreshOut, RfmSummaryOut, TagBody, TagList,
                                  TaggedMemberPage, TagOut, TagUpdate)

bp = APIBlueprint("segments_admin", __name__, url_prefix="/api/v1/admin", abp_tags=[Tag(name="会员分群")],
                  abp_security=[{"operator": []}],
                  abp_responses={"401": ErrorOut, "403": ErrorOut, "404": ErrorOut, "409": ErrorOut, "422": ErrorOut})


class TagPath(BaseModel):
    code: str = Field(min_length=1, max_length=32)


class MemberPath(BaseModel):
    member_id: int = Field(ge=1)


class MemberTagPath(BaseModel):
    member_id: int = Field(ge=1)
    code: str = Field(min_length=1, max_length=32)


@bp.get("/tags", responses={200: TagList})
def list_tags():
    """标签列表(含会员数)"""
    current_operator(*READERS)
    return TagList(items=service.list_tags()).model_dump(mode="json")


@bp.post("/tags", responses={201: TagOut})
def create_tag(body: TagBody):
    """新建标签:手工标签,或按规则自动圈人的规则标签(建好即按规则生成)"""
    current_operator(*WRITERS)
    return TagOut.model_validate(service.create_tag(body.model_dump(mode="json"))).model_dump(mode="json"), 201


@bp.patch("/tags/<code>", responses={200: TagOut})
def update_tag(path: TagPath, body: TagUpdate):
    """修改标签名称、说明、规则或启停(规则变更后立即重建)"""
    current_operator(*WRITERS)
    fields = body.model_dump(mode="json", exclude_unset=True)
    return TagOut.model_validate(service.update_tag(path.code, fields)).model_dump(mode="json")


@bp.post("/tags/<code>/refresh", responses={200: RefreshOut})
def refresh_tag(path: TagPath):
    """立即按规则重建规则标签(手工标记的会员不受影响)"""
    current_operator(*WRITERS)
    return RefreshOut.model_validate(service.refresh(path.code)).model_dump(mode="json")


@bp.get("/tags/<code>/members", responses={200: TaggedMemberPage})
def tagged_members(path: TagPath, query: PageQuery):
    """带某标签的会员(分页)"""
    current_operator(*READERS)
    items, total = service.tagged_members(path.code, page=query.page, per_page=query.per_page)
    return TaggedMemberPage(items=items, total=total, page=query.page, per_page=query.per_page).model_dump(mode="json")


@bp.post("/members/<int:member_id>/tags/<code>", responses={200: MembershipOut, 201: MembershipOut})
def tag_member(path: MemberTagPath):
    """给会员打标签(手工;已有则不变)"""
    operator = current_operator(*WRITERS)
    membership, created = service.tag_member(path.member_id, path.code, operator.id)
    return MembershipOut.model_validate(membership).model_dump(mode="json"), 201 if created else 200


@bp.delete("/members/<int:member_id>/tags/<code>", responses={204: None})
def untag_member(path: MemberTagPath):
    """移除会员的手工标签(规则自动标记的须修改规则)"""
    current_operator(*WRITERS)
    service.untag_member(path.member_id, path.code)
    return "", 204


@bp.get("/members/<int:member_id>/segments", responses={200: MemberSegmentsOut})
def member_segments(path: MemberPath):
    """某会员的标签与 RFM 分群"""
    current_operator(*READERS)
    return MemberSegmentsOut.model_validate(service.member_segments(path.member_id)).model_dump(mode="json")


@bp.get("/rfm/summary", responses={200: RfmSummaryOut})
def rfm_summary():
    """RFM 分群概览:各分群会员数"""
    current_operator(*READERS)
    return RfmSummaryOut.model_validate(service.rfm_summary()).model_dump(mode="json")
