"""Operators: push runs (what happened to each, retry the failed), templates, robots, automations."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from app.errors import NotFound
from app.extensions import db
from app.members.schemas import ErrorOut
from app.operators.service import READERS, WRITERS, current_operator
from app.segments.service import check_segment
from tasks import delivery
from tasks.models import Automation, MessageTemplate, PushRun, Robot, SendLog

bp = APIBlueprint("jobs_admin", __name__, url_prefix="/api/v1/admin", abp_tags=[Tag(name="运营后台 推送")],
                  abp_security=[{"operator": []}],
                  abp_responses={"401": ErrorOut, "403": ErrorOut, "404": ErrorOut, "409": ErrorOut, "422": ErrorOut})


class RunPath(BaseModel):
    run_id: int = Field(ge=1)


class CodePath(BaseModel):
    code: str = Field(min_length=1, max_length=32)


class RunsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str | None = Field(default=None, max_length=32)
    limit: int = Field(default=50, ge=1, le=200)


class TemplateBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=64)
    wechat_template_id: str = Field(min_length=1, max_length=64)
    page: str | None = Field(default=None, max_length=128, pattern=r"^[^/?][^?]*$")
    fields: dict[str, str] = Field(min_length=1, max_length=10)
    group_text: str | None = Field(default=None, max_length=2000)
    active: bool = True


class RobotBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=64)
    webhook_key: str = Field(min_length=8, max_length=128)
    scope: str = Field(default="operators", pattern="^(operators|store)$")
    store_id: int | None = Field(default=None, ge=1)


class AutomationBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    active: bool
    segment: str | None = Field(default=None, min_length=1, max_length=64,
                                description="目标分群:标签编码或 rfm:<RFM 分群>,只推送给该分群会员;null 为全部;不传则不变")


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
                      for t in db.session.scalars(select(MessageTemplate).order_by(MessageTemplate.code))]}


@bp.put("/message-templates/<code>")
def update_template(path: CodePath, body: TemplateBody):
    """修改消息模板"""
    current_operator(*WRITERS)
    template = db.session.get(MessageTemplate, path.code)
    if template is None:
        raise NotFound("模板不存在", code="unknown_template")
    for name, value in body.model_dump().items():
        setattr(template, name, value)
    db.session.commit()
    return {"code": template.code, "active": template.active}


@bp.get("/robots")
def list_robots():
    """企业微信群机器人"""
    current_operator(*READERS)
    return {"items": [{"id": r.id, "name": r.name, "scope": r.scope, "store_id": r.store_id, "active": r.active}
                      for r in db.session.scalars(select(Robot).order_by(Robot.id))]}


@bp.post("/robots", responses={201: None})
def create_robot(body: RobotBody):
    """添加企业微信群机器人(运营群或门店群)"""
    current_operator(*WRITERS)
    from app.errors import Conflict, Unprocessable
    from sqlalchemy.exc import IntegrityError

    if (body.scope == "store") != (body.store_id is not None):
        raise Unprocessable("门店群机器人须指定门店,运营群机器人不指定", code="robot_scope_invalid")
    robot = Robot(**body.model_dump())
    db.session.add(robot)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("该机器人已存在或门店不存在", code="robot_conflict")
    return {"id": robot.id}, 201


@bp.get("/automations")
def list_automations():
    """自动化推送(注册欢迎、升级祝贺、积分过期提醒)"""
    current_operator(*READERS)
    return {"items": [{"code": a.code, "name": a.name, "template": a.template_code, "active": a.active,
                       "segment": a.segment}
                      for a in db.session.scalars(select(Automation).order_by(Automation.code))]}


@bp.put("/automations/<code>")
def switch_automation(path: CodePath, body: AutomationBody):
    """开启或关闭一项自动化推送,或限定其目标分群"""
    current_operator(*WRITERS)
    automation = db.session.get(Automation, path.code)
    if automation is None:
        raise NotFound("自动化不存在", code="unknown_automation")
    if "segment" in body.model_fields_set:
        automation.segment = body.segment and check_segment(body.segment)
    automation.active = body.active
    db.session.commit()
    return {"code": automation.code, "active": automation.active, "segment": automation.segment}
