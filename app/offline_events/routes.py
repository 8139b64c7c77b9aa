"""Offline events: members sign in; operators create events and print their QR codes."""
from __future__ import annotations

from datetime import datetime

from flask import Response
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from app.auth.tokens import current_member
from app.members.schemas import ErrorOut
from app.offline_events import service
from app.operators.service import WRITERS, current_operator

bp = APIBlueprint("offline_events", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="线下活动")],
                  abp_responses={"401": ErrorOut, "404": ErrorOut, "409": ErrorOut, "422": ErrorOut})


class SigninBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=4, max_length=24, pattern=r"^[0-9A-Za-z]+$", description="活动二维码中的签到码")


class SigninOut(BaseModel):
    event: str
    points: int
    growth: int


class OfflineEventBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=64)
    location: str | None = Field(default=None, max_length=128)
    starts_at: datetime
    ends_at: datetime
    reward_points: StrictInt = Field(default=0, ge=0, le=1_000_000)
    reward_growth: StrictInt = Field(default=0, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _window(self):
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None or self.ends_at <= self.starts_at:
            raise ValueError("签到时间段无效(须带时区,结束晚于开始)")
        if not (self.reward_points or self.reward_growth):
            raise ValueError("须设置积分或成长值奖励")
        return self


class OfflineEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    title: str
    location: str | None
    starts_at: datetime
    ends_at: datetime
    code: str
    reward_points: int
    reward_growth: int


class EventPath(BaseModel):
    event_id: int = Field(ge=1)


@bp.post("/offline-events/signin", responses={201: SigninOut}, security=[{"member": []}])
def sign_in(body: SigninBody):
    """扫码签到线下活动(活动时间内,每人一次)"""
    return SigninOut(**service.sign_in(current_member().id, body.code)).model_dump(), 201


@bp.post("/admin/offline-events", responses={201: OfflineEventOut}, security=[{"operator": []}])
def create(body: OfflineEventBody):
    """新建线下活动,生成签到码"""
    current_operator(*WRITERS)
    return OfflineEventOut.model_validate(service.create(body.model_dump())).model_dump(mode="json"), 201


@bp.get("/admin/offline-events/<int:event_id>/qrcode", security=[{"operator": []}])
def qrcode_png(path: EventPath):
    """活动签到二维码(PNG),投放在现场"""
    current_operator(*WRITERS)
    return Response(service.qr_png(path.event_id), mimetype="image/png")
