"""Operator sign-in (the console issue adds its web pages on top)."""
from __future__ import annotations

from datetime import datetime

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from app.members.schemas import ErrorOut
from app.operators import service

bp = APIBlueprint("operators", __name__, url_prefix="/api/v1/admin", abp_tags=[Tag(name="运营后台")],
                  abp_responses={"422": ErrorOut})


class OperatorLoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class OperatorLoginOut(BaseModel):
    token: str
    expires_at: datetime
    role: str
    display_name: str


@bp.post("/auth/login", responses={200: OperatorLoginOut, 401: ErrorOut})
def login(body: OperatorLoginBody):
    """运营人员登录"""
    operator, issued = service.login(body.username, body.password)
    return OperatorLoginOut(token=issued.token, expires_at=issued.expires_at, role=operator.role,
                            display_name=operator.display_name).model_dump(mode="json")
