"""Operators' request bodies for pushes: message templates, WeCom robots, automations.

The API and the console's configuration screens (`app.console.settings`) both use these, so they
accept and refuse the same input.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# drawn as a password input by the console and never shown again once saved (see tasks.admin)
SECRET = {"format": "password"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TemplateBody(Strict):
    name: str = Field(min_length=1, max_length=64)
    wechat_template_id: str = Field(min_length=1, max_length=64)
    page: str | None = Field(default=None, max_length=128, pattern=r"^[^/?][^?]*$")
    fields: dict[str, str] = Field(min_length=1, max_length=10)
    group_text: str | None = Field(default=None, max_length=2000)
    active: bool = True


class RobotBody(Strict):
    name: str = Field(min_length=1, max_length=64)
    webhook_key: str = Field(min_length=8, max_length=128, json_schema_extra=SECRET)
    scope: str = Field(default="operators", pattern="^(operators|store)$")
    store_id: int | None = Field(default=None, ge=1)


class RobotUpdate(Strict):
    """The fields given change; the others stay. The scope and store are fixed once created."""
    name: str | None = Field(default=None, min_length=1, max_length=64)
    webhook_key: str | None = Field(default=None, min_length=8, max_length=128, json_schema_extra=SECRET,
                                    description="新的 Webhook key;不传则不变")
    active: bool | None = None


class AutomationBody(Strict):
    active: bool
    segment: str | None = Field(default=None, min_length=1, max_length=64,
                                description="目标分群:标签编码或 rfm:<RFM 分群>,只推送给该分群会员;null 为全部;不传则不变")
