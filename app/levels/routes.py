"""Levels: the public ladder, a member's own level, and operators' definitions."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from app.auth.tokens import current_member
from app.levels import admin, service
from app.members.schemas import ErrorOut
from app.operators.service import READERS, current_operator

bp = APIBlueprint("levels", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="会员等级")],
                  abp_responses={"401": ErrorOut, "403": ErrorOut, "404": ErrorOut, "409": ErrorOut, "422": ErrorOut})


class LevelOut(BaseModel):
    code: str
    name: str
    rank: int
    threshold: int
    condition: str
    validity: str
    validity_months: int | None
    expiry_action: str
    earn_multiplier_pct: int
    birthday_points: int
    member_day_multiplier_pct: int
    discount_pct: int
    rights: list[str]


class LevelList(BaseModel):
    items: list[LevelOut]


class LevelChangeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str | None = Field(alias="from")
    to: str
    reason: str
    detail: str | None
    at: datetime


class MyLevelOut(BaseModel):
    level: LevelOut | None
    reached_at: datetime | None
    expires_at: datetime | None
    growth: int
    growth_to_keep: int | None = Field(description="到期前还需多少成长值才能保级;null 表示到期后必然重新累计")
    next_level: LevelOut | None
    growth_to_next: int | None
    history: list[LevelChangeOut]


class LevelBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    name: str = Field(min_length=1, max_length=32)
    rank: StrictInt = Field(ge=0, le=100)
    threshold: StrictInt = Field(ge=0, le=10**12)
    condition: Literal["growth", "first_purchase"] = "growth"
    validity_months: StrictInt | None = Field(default=None, ge=1, le=120)
    expiry_action: Literal["keep_if_qualified", "reset", "discount", "deduct"] = "keep_if_qualified"
    action_percent: StrictInt = Field(default=0, ge=0, le=100)
    action_numerator: StrictInt = Field(default=0, ge=0)
    action_denominator: StrictInt = Field(default=1, ge=1, le=1000)
    earn_multiplier_pct: StrictInt = Field(default=100, ge=100, le=1000)
    birthday_points: StrictInt = Field(default=0, ge=0, le=10**7)
    birthday_item_sku: str | None = Field(default=None, max_length=48)
    member_day_multiplier_pct: StrictInt = Field(default=100, ge=100, le=1000)
    discount_pct: StrictInt = Field(default=100, ge=1, le=100)
    service_rights: list[str] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _action(self):
        if self.action_numerator > self.action_denominator:
            raise ValueError("扣减比例不能大于 1")
        if self.expiry_action == "discount" and not self.action_percent:
            raise ValueError("折算须设置 action_percent")
        if self.expiry_action == "deduct" and not self.action_numerator:
            raise ValueError("扣减须设置 action_numerator / action_denominator")
        return self


class CodePath(BaseModel):
    code: str = Field(min_length=1, max_length=32)


@bp.get("/levels", responses={200: LevelList})
def ladder():
    """全部等级:条件、有效期与权益(公开)"""
    return LevelList(items=service.catalogue()).model_dump()


@bp.get("/me/level", responses={200: MyLevelOut}, security=[{"member": []}])
def my_level():
    """我的等级:到期时间、保级与升级还差多少成长值、变更历史"""
    view = service.member_view(current_member().id)
    return MyLevelOut.model_validate(view).model_dump(mode="json", by_alias=True)


@bp.get("/admin/levels", responses={200: LevelList}, security=[{"operator": []}])
def list_levels():
    """等级定义"""
    current_operator(*READERS)
    return LevelList(items=service.catalogue()).model_dump()


@bp.post("/admin/levels", responses={201: LevelOut}, security=[{"operator": []}])
def create_level(body: LevelBody):
    """新建等级(门槛不得与其他等级重叠)"""
    current_operator("admin")
    return service.describe(admin.save(body.model_dump())), 201


@bp.put("/admin/levels/<code>", responses={200: LevelOut}, security=[{"operator": []}])
def replace_level(path: CodePath, body: LevelBody):
    """修改等级(整体替换)"""
    current_operator("admin")
    return service.describe(admin.save(body.model_dump(), code=path.code))
