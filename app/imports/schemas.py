"""What operators send and see for imports."""
from __future__ import annotations

from typing import Literal

from flask_openapi3 import FileStorage
from pydantic import BaseModel, ConfigDict, Field


class UploadForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: FileStorage = Field(description="CSV 文件(UTF-8 或 GBK 编码,首行为表头)")


class RunPath(BaseModel):
    run_id: str = Field(pattern=r"^[0-9a-f]{16}$")


class ProblemOut(BaseModel):
    column: str | None = Field(description="列名(英文),整行的问题为空")
    column_label: str | None
    reason: str
    value: str | None = Field(description="原值;手机号、昵称、生日不回显")


class RejectedRowOut(BaseModel):
    row: int = Field(description="行号(表头为第 1 行)")
    external_id: str | None
    problems: list[ProblemOut]


class RejectedPage(BaseModel):
    items: list[RejectedRowOut]
    total: int
    page: int
    per_page: int


class ImportRunOut(BaseModel):
    id: str
    kind: Literal["members"]
    status: Literal["queued", "running", "finished", "failed"]
    filename: str
    encoding: str
    operator_id: int | None
    total: int = Field(description="数据行数")
    done: int = Field(description="已处理行数")
    percent: int
    imported: int = Field(description="新建的会员,及此前无期初余额、本次入账的会员")
    unchanged: int = Field(description="已导入过、本次无需写入的行")
    rejected: int = Field(description="被拒绝的行")
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    rejected_rows: RejectedPage | None = None

    @classmethod
    def of(cls, run: dict, rejected_rows: RejectedPage | None = None) -> "ImportRunOut":
        percent = run["done"] * 100 // run["total"] if run["total"] else 100
        return cls.model_validate({**run, "percent": percent, "rejected_rows": rejected_rows})
