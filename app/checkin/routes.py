"""Daily check-in for members."""
from __future__ import annotations

from datetime import date

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from app import clock
from app.auth.tokens import current_member, current_member_id
from app.checkin import service
from app.members.schemas import ErrorOut

bp = APIBlueprint("checkin", __name__, url_prefix="/api/v1/checkins", abp_tags=[Tag(name="签到")],
                  abp_security=[{"member": []}], abp_responses={"401": ErrorOut, "409": ErrorOut, "422": ErrorOut})


class MonthQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str | None = Field(default=None, pattern=r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM,默认本月")


class MakeupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date = Field(description="要补签的日期(本月、今天以前)")


class CheckinOut(BaseModel):
    day: date
    streak: int
    points: int
    growth: int
    monthly_bonus: int
    made_up: bool


def _out(result: service.CheckinResult) -> dict:
    return CheckinOut(**result.__dict__).model_dump(mode="json")


@bp.post("", responses={201: CheckinOut})
def check_in():
    """今日签到(每个营业日一次,连续签到按周期奖励)"""
    return _out(service.check_in(current_member_id())), 201


@bp.post("/makeups", responses={201: CheckinOut})
def make_up(body: MakeupBody):
    """补签本月漏签的一天(次数有限,可能消耗积分)"""
    return _out(service.make_up(current_member().id, body.day)), 201


@bp.get("")
def calendar(query: MonthQuery):
    """签到日历:本月签到、连续天数、今天和明天的奖励、剩余补签次数"""
    month = date.fromisoformat(query.month + "-01") if query.month else clock.today()
    return service.calendar(current_member().id, month)
