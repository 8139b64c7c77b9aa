"""Request and response shapes for members. Responses are per audience: `MemberSelf` is what a
member sees of themselves (their own phone included); nothing internal (session key, openid) is
ever in it."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.clock import today

SCENE_PATTERN = r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LoginBody(Strict):
    code: str = Field(min_length=1, max_length=128, description="wx.login() 返回的临时登录凭证")
    scene: str | None = Field(default=None, pattern=SCENE_PATTERN,
                              description="小程序码携带的 scene(邀请码或渠道码),仅首次注册时生效")


class PhoneBody(Strict):
    code: str = Field(min_length=1, max_length=128, description="getPhoneNumber 按钮返回的 code")


class ProfileUpdate(Strict):
    """The only fields a member may change. Anything else (points, level, phone...) is a 422."""

    nickname: str | None = Field(default=None, min_length=1, max_length=32)
    avatar_url: str | None = Field(default=None, max_length=512)
    gender: Literal[0, 1, 2] | None = Field(default=None, description="0 未知, 1 男, 2 女")
    birthday: date | None = Field(default=None, description="生日,设置后不可自行修改")
    region: str | None = Field(default=None, max_length=64)
    company: str | None = Field(default=None, max_length=128)
    industry: str | None = Field(default=None, max_length=64)
    company_size: Literal["1-9", "10-49", "50-199", "200-999", "1000+"] | None = None
    job_role: str | None = Field(default=None, max_length=64)

    @field_validator("gender", mode="before")
    @classmethod
    def _gender_not_null(cls, value):
        if value is None:
            raise ValueError("性别不能为空(0 未知, 1 男, 2 女)")
        return value

    @field_validator("avatar_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError("头像地址必须是 http(s) 链接")
        return value

    @field_validator("birthday")
    @classmethod
    def _plausible(cls, value: date | None) -> date | None:
        if value is not None and not (date(1900, 1, 1) <= value <= today()):
            raise ValueError("生日不在合理范围内")
        return value

    @field_validator("nickname")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and any(ord(ch) < 32 for ch in value):
            raise ValueError("昵称含有不可见字符")
        return value


class MemberSelf(BaseModel):
    id: int
    nickname: str | None
    avatar_url: str | None
    gender: int
    birthday: date | None
    region: str | None
    company: str | None
    industry: str | None
    company_size: str | None
    job_role: str | None
    phone: str | None = Field(description="仅本人可见")
    phone_bound: bool
    created_at: datetime

    @classmethod
    def of(cls, member) -> "MemberSelf":
        return cls(
            id=member.id, nickname=member.nickname, avatar_url=member.avatar_url, gender=member.gender,
            birthday=member.birthday, region=member.region, company=member.company,
            industry=member.industry, company_size=member.company_size, job_role=member.job_role,
            phone=member.phone, phone_bound=member.phone is not None, created_at=member.created_at,
        )


class LoginOut(BaseModel):
    token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_at: datetime
    created: bool = Field(description="本次登录是否新注册")
    member: MemberSelf


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody
