"""Operators: push runs (what happened to each, retry the failed), templates, robots, automations."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from app.errors import NotFound
from app.extensions import db
from app.members.schemas import ErrorOut
from app.operators.service import READERS, WRITERS, current_operator
from tasks import admin, delivery
from tasks.models import PushRun, Robot, SendLog
from tasks.schemas import AutomationBody, RobotBody, RobotUpdate, TemplateBody

bp = APIBlueprint("jobs_admin", __name__, url_prefix="/api/v1/admin", abp_tags=[Tag(name="运营后台 推送")],
                  abp_security=[{"operator": []}],
                  abp_responses={"401": ErrorOut, "403": ErrorOut, "404": ErrorOut, "409": ErrorOut, "422": ErrorOut})


class RunPath(BaseModel):
    run_id: int = Field(ge=1)


class RobotPath(BaseModel):
    robot_id: int = Field(ge=1)


class CodePath(BaseModel):
    code: str = Field(min_length=1, max_length=32)


class RunsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str | None = Field(default=None, max_length=32)
    limit: int = Field(default=50, ge=1, le=200)


def _run_out(run: PushRun) -> dict:
    return {"id": run.id, "kind": run.kind, "ref": run.ref, "template": run.template_code,
            "started_at": run.started_at.isoformat(), "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            **{k: run.summary.get(k, 0) for k in ("targeted", "sent", "skipped", "failed", "pending", "sending")}}


@bp.get("/push-runs")
def list_runs(query: RunsQuery):
    """推送记录:每次运行的目标人数、已发送、跳过(无订阅授权)、失败"""
    current_operator(*READERS)
    stmt = select(PushRun).order_by(PushRun.id.desc()).limit(query.limit)
    if query.kind:
        stmt = stmt.where(PushRun.kind == query.kind)
    return {"items": [_run_out(r) for r in db.session.scalars(stmt)]}


@bp.get("/push-runs/<int:run_id>")
def get_run(path: RunPath):
    """一次推送的明细:失败与跳过的原因"""
    current_operator(*READERS)
    run = db.session.get(PushRun, path.run_id)
    if run is None:
        raise NotFound("推送记录不存在", code="unknown_run")
    reasons = db.session.execute(select(SendLog.status, SendLog.error, func.count()).where(
        SendLog.run_id == run.id, SendLog.status.in_(("skipped", "failed"))).group_by(SendLog.status, SendLog.error)).all()
    return {**_run_out(run), "reasons": [{"status": s, "reason": e, "count": n} for s, e, n in reasons]}


@bp.post("/push-runs/<int:run_id>/retry")
def retry_run(path: RunPath):
    """重发失败的消息"""
    current_operator(*WRITERS)
    if db.session.get(PushRun, path.run_id) is None:
        raise NotFound("推送记录不存在", code="unknown_run")
    return {"requeued": delivery.retry_failed(path.run_id)}


@bp.get("/message-templates")
def list_templates():
    """消息模板(订阅消息字段与企业微信群文案,可用变量见文档)"""
    current_operator(*READERS)
    return {"items": [{"code": t.code, "name": t.name, "wechat_template_id": t.wechat_template_id, "page": t.page,
                       "fields": t.fields, "group_text": t.group_text, "active": t.active}
                      for t in admin.list_templates()]}


@bp.put("/message-templates/<code>")
def update_template(path: CodePath, body: TemplateBody):
    """修改消息模板"""
    current_operator(*WRITERS)
    template = admin.update_template(path.code, body.model_dump())
    return {"code": template.code, "active": template.active}


def _robot_out(robot: Robot) -> dict:
    """Never the webhook key: it is a secret."""
    return {"id": robot.id, "name": robot.name, "scope": robot.scope, "store_id": robot.store_id,
            "active": robot.active}


@bp.get("/robots")
def list_robots():
    """企业微信群机器人"""
    current_operator(*READERS)
    return {"items": [_robot_out(r) for r in admin.list_robots()]}


@bp.post("/robots", responses={201: None})
def create_robot(body: RobotBody):
    """添加企业微信群机器人(运营群或门店群)"""
    current_operator(*WRITERS)
    return {"id": admin.create_robot(body.model_dump()).id}, 201


@bp.patch("/robots/<int:robot_id>")
def update_robot(path: RobotPath, body: RobotUpdate):
    """修改企业微信群机器人:名称、启停或更换 Webhook key(不传的字段不变)"""
    current_operator(*WRITERS)
    return _robot_out(admin.update_robot(path.robot_id, body.model_dump(exclude_unset=True)))


@bp.get("/automations")
def list_automations():
    """自动化推送(注册欢迎、升级祝贺、积分过期提醒)"""
    current_operator(*READERS)
    return {"items": [{"code": a.code, "name": a.name, "template": a.template_code, "active": a.active,
                       "segment": a.segment}
                      for a in admin.list_automations()]}


@bp.put("/automations/<code>")
def switch_automation(path: CodePath, body: AutomationBody):
    """开启或关闭一项自动化推送,或限定其目标分群"""
    current_operator(*WRITERS)
    automation = admin.update_automation(path.code, body.model_dump(exclude_unset=True))
    return {"code": automation.code, "active": automation.active, "segment": automation.segment}
