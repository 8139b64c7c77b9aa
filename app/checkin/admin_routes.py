"""Operators: the check-in reward table."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag

from app.checkin import admin
from app.checkin.schemas import CheckinSettingsBody, CheckinSettingsOut
from app.members.schemas import ErrorOut
from app.operators.service import READERS, WRITERS, current_operator

bp = APIBlueprint("checkin_admin", __name__, url_prefix="/api/v1/admin/checkin", abp_tags=[Tag(name="运营后台")],
                  abp_security=[{"operator": []}],
                  abp_responses={"401": ErrorOut, "403": ErrorOut, "422": ErrorOut})


@bp.get("/settings", responses={200: CheckinSettingsOut})
def get_settings():
    """签到奖励设置:连续签到周期奖励、月度累计奖励、补签次数与消耗"""
    current_operator(*READERS)
    return CheckinSettingsOut.model_validate(admin.current()).model_dump(mode="json")


@bp.put("/settings", responses={200: CheckinSettingsOut})
def update_settings(body: CheckinSettingsBody):
    """修改签到奖励设置(整体替换;立即对会员生效,已发放的奖励不变)"""
    current_operator(*WRITERS)
    return CheckinSettingsOut.model_validate(admin.update_settings(body.model_dump())).model_dump(mode="json")
