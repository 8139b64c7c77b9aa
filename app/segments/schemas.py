"""Shapes of segments for operators: tag bodies, the rule language, tags, memberships and RFM.

Members never see any of these: there is no member endpoint for tags or RFM.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

CODE_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"
# the codes of app.segments.models.RFM_SEGMENTS (a test keeps the two the same)
RfmSegmentCode = Literal["important_value", "important_develop", "important_keep", "important_retain",
                         "general_value", "general_develop", "general_keep", "general_retain"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DormantDays(Strict):
    """No activity (earning event, redemption, check-in) for at least `days` business days."""
    type: Literal["dormant_days"]
    days: StrictInt = Field(ge=1, le=3650)


class PointsAtLeast(Strict):
    """Available points of at least `points`."""
    type: Literal["points_at_least"]
    points: StrictInt = Field(ge=1, le=10**12)


class LevelIn(Strict):
    """At one of these levels (a member not yet placed is at the lowest level)."""
    type: Literal["level_in"]
    levels: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(min_length=1, max_length=20)


class AttributeEquals(Strict):
    """A profile field equal to `value` (exactly; gender as 0, 1 or 2)."""
    type: Literal["attribute_equals"]
    field: Literal["gender", "region", "company", "industry", "company_size", "job_role"]
    value: StrictInt | Annotated[StrictStr, Field(min_length=1, max_length=128)]

    @model_validator(mode="after")
    def _value_fits_field(self):
        if self.field == "gender" and self.value not in (0, 1, 2):
            raise ValueError("gender 的值须为 0、1 或 2")
        if self.field != "gender" and not isinstance(self.value, str):
            raise ValueError(f"{self.field} 的值须为文字")
        return self


class RfmSegmentIn(Strict):
    """In one of these RFM segments (as of the last RFM run)."""
    type: Literal["rfm_segment_in"]
    segments: list[RfmSegmentCode] = Field(min_length=1, max_length=8)


Condition = Annotated[DormantDays | PointsAtLeast | LevelIn | AttributeEquals | RfmSegmentIn,
                      Field(discriminator="type")]


class RuleSpec(Strict):
    all: list[Condition] = Field(min_length=1, max_length=5, description="全部条件同时满足的会员")


class TagBody(Strict):
    code: str = Field(min_length=1, max_length=32, pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=32)
    description: str | None = Field(default=None, max_length=200)
    kind: Literal["manual", "rule"]
    rule: RuleSpec | None = Field(default=None, description="规则标签的条件;手工标签不填")
    active: bool = True

    @model_validator(mode="after")
    def _rule_matches_kind(self):
        if self.kind == "rule" and self.rule is None:
            raise ValueError("规则标签须设置 rule")
        if self.kind == "manual" and self.rule is not None:
            raise ValueError("手工标签不能设置 rule")
        return self


class TagUpdate(Strict):
    """The fields given are changed; `rule` only on rule tags."""
    name: str | None = Field(default=None, min_length=1, max_length=32)
    description: str | None = Field(default=None, max_length=200)
    rule: RuleSpec | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self):
        for name in ("name", "active"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} 不能为空")
        return self


class TagOut(BaseModel):
    code: str
    name: str
    description: str | None
    kind: str
    rule: dict | None
    active: bool
    members: int = Field(description="带此标签的会员数(手工 + 规则)")
    manual_members: int
    rule_members: int
    refreshed_at: datetime | None = Field(description="规则最近一次重建的时间")
    created_at: datetime


class TagList(BaseModel):
    items: list[TagOut]


class RefreshOut(BaseModel):
    tag: str
    members: int = Field(description="重建后带此标签的会员数")
    added: int
    removed: int
    refreshed_at: datetime


class MembershipOut(BaseModel):
    member_id: int
    tag: str
    source: str
    tagged_at: datetime
    tagged_by: int | None


class TaggedMemberOut(BaseModel):
    member_id: int
    nickname: str | None
    source: str
    tagged_at: datetime
    tagged_by: int | None


class TaggedMemberPage(BaseModel):
    items: list[TaggedMemberOut]
    total: int
    page: int
    per_page: int


class MemberTagOut(BaseModel):
    code: str
    name: str
    kind: str
    source: str
    tagged_at: datetime
    tagged_by: int | None


class RfmOut(BaseModel):
    recency_days: int
    frequency: int
    monetary_cents: int
    r_score: int
    f_score: int
    m_score: int
    segment: str
    segment_name: str
    computed_at: datetime


class MemberSegmentsOut(BaseModel):
    member_id: int
    tags: list[MemberTagOut]
    rfm: RfmOut | None = Field(description="近一年没有任何活动的会员没有 RFM")


class SegmentCount(BaseModel):
    code: str
    name: str
    members: int


class RfmSummaryOut(BaseModel):
    computed_at: datetime | None
    scored_members: int
    unscored_members: int = Field(description="近一年没有活动、没有 RFM 的在册会员")
    segments: list[SegmentCount]
