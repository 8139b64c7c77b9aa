"""Operators: task-center task definitions."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from app.members.schemas import ErrorOut
from app.operators.service import READERS, WRITERS, current_operator
from app.taskcenter import admin
from app.taskcenter.schemas import TaskAdminList, TaskAdminOut, TaskBody

bp = APIBlueprint("taskcenter_admin", __name__, url_prefix="/api/v1/admin", abp_tags=[Tag(name="运营后台")],
                  abp_security=[{"operator": []}],
                  abp_responses={"401": ErrorOut, "403": ErrorOut, "404": ErrorOut, "409": ErrorOut, "422": ErrorOut})


class TaskIdPath(BaseModel):
    task_id: int = Field(ge=1)


@bp.get("/tasks", responses={200: TaskAdminList})
def list_tasks():
    """任务中心的全部任务(含停用)"""
    current_operator(*READERS)
    return TaskAdminList(items=[TaskAdminOut.model_validate(t) for t in admin.list_tasks()]).model_dump(mode="json")


@bp.post("/tasks", responses={201: TaskAdminOut})
def create_task(body: TaskBody):
    """新建任务:在一个周期内完成若干次某类事件后可领取奖励"""
    current_operator(*WRITERS)
    return TaskAdminOut.model_validate(admin.create_task(body.model_dump())).model_dump(mode="json"), 201


@bp.put("/tasks/<int:task_id>", responses={200: TaskAdminOut})
def replace_task(path: TaskIdPath, body: TaskBody):
    """修改任务(整体替换);停用后会员不再看到,已领取的奖励不变"""
    current_operator(*WRITERS)
    return TaskAdminOut.model_validate(admin.replace_task(path.task_id, body.model_dump())).model_dump(mode="json")
