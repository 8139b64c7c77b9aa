"""The console's configuration screens: one list page and one form per thing an operator configures.

Each `Section` names the API's own pydantic body (so the console and the API share every validation
rule), the service function that saves it, and the columns its list shows. The views below are the
same for every section: list, new, edit; errors come back beside the field; every save is audited by
the recorder as the signed-in operator's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from flask import abort, flash, g, redirect, render_template, request, url_for
from pydantic import BaseModel
from sqlalchemy import select

from app.checkin import admin as checkin
from app.checkin.schemas import CheckinSettingsBody
from app.console import auth, forms
from app.console.auth import requires
from app.console.views import bp
from app.earning import rules
from app.earning.models import Campaign, EarnRule
from app.earning.schemas import CampaignBody, RuleBody
from app.errors import DomainError
from app.extensions import db
from app.levels import admin as levels
from app.levels.models import LevelDefinition
from app.levels.routes import LevelBody
from app.segments import service as segments
from app.segments.schemas import TagBody, TagUpdate
from app.staff import service as staff
from app.staff.models import Staff, Store
from app.taskcenter import admin as taskcenter
from app.taskcenter.models import TaskDefinition
from app.taskcenter.schemas import TaskBody
from mall import lottery
from mall.models import LotteryPrize
from mall.schemas import LotterySettingsBody, PrizeBody, StaffBody, StoreBody
from posters import referrals
from posters.models import ChannelCode
from posters.routes import ChannelBody
from tasks import admin as pushes
from tasks.models import Automation, MessageTemplate, Robot
from tasks.schemas import AutomationBody, RobotBody, RobotUpdate, TemplateBody

READERS = ("admin", "operator", "analyst")


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    body: type[BaseModel]
    labels: dict[str, str]
    columns: tuple[tuple[str, str], ...]           # (attribute, header) shown in the list
    rows: Callable[[], list[Any]]
    key: Callable[[Any], str] = lambda row: str(row.id)
    create: Callable[[dict], Any] | None = None
    update: Callable[[str, dict], Any] | None = None
    load: Callable[[str], Any] | None = None        # the row behind a key, for the edit form
    edit_body: type[BaseModel] | None = None        # when an edit takes other fields than a create
    single: bool = False                            # one settings row: the list page is its form
    writers: tuple[str, ...] = auth.WRITERS
    help: str = ""
    dump: dict = field(default_factory=dict)        # model_dump() options for the service call

    def values(self, row: Any) -> dict[str, str]:
        model = self.edit_body or self.body
        return forms.initial({name: getattr(row, name, None) for name in model.model_fields}, model)


def _by_id(model) -> Callable[[str], Any]:
    return lambda key: db.session.get(model, int(key)) if key.isdigit() and len(key) < 10 else None


def _by_code(model) -> Callable[[str], Any]:
    return lambda key: db.session.scalar(select(model).where(model.code == key))


def _all(model, *order) -> Callable[[], list]:
    return lambda: list(db.session.scalars(select(model).order_by(*order)))


RULE_LABELS = {"code": "规则编码", "name": "名称", "event_type": "事件类型", "category": "报表分类", "mode": "计算方式",
               "points": "积分(固定)", "growth": "成长值(固定)", "points_per_yuan": "每元积分", "growth_per_yuan": "每元成长值",
               "hold_days": "冻结天数(退货期)", "cap_per_day": "每人每日上限", "cap_per_week": "每人每周上限",
               "cap_per_month": "每人每月上限", "cap_lifetime": "每人终身上限", "budget_points": "总预算(积分)",
               "starts_at": "生效时间", "ends_at": "失效时间", "level_codes": "适用等级(逗号分隔)",
               "apply_level_multiplier": "叠加等级倍数", "apply_campaign_multiplier": "叠加活动倍数", "active": "启用"}
CAMPAIGN_LABELS = {"name": "活动名称", "grade": "活动级别", "starts_at": "开始时间", "ends_at": "结束时间",
                   "multiplier_pct": "积分倍数(%)", "event_types": "适用事件(逗号分隔,空为全部)",
                   "level_codes": "适用等级(逗号分隔,空为全部)", "active": "启用", "message": "推送文案",
                   "segment": "目标分群(标签编码或 rfm:分群,空为全部)"}
LEVEL_LABELS = {"code": "等级编码", "name": "名称", "rank": "排序", "threshold": "门槛", "condition": "升级条件",
                "validity_months": "有效期(月)", "expiry_action": "到期处理", "action_percent": "折算比例(%)",
                "action_numerator": "扣减分子", "action_denominator": "扣减分母", "earn_multiplier_pct": "积分倍数(%)",
                "birthday_points": "生日积分", "birthday_item_sku": "生日礼商品编码",
                "member_day_multiplier_pct": "会员日倍数(%)", "discount_pct": "商城折扣(%)",
                "service_rights": "专属权益(逗号分隔)"}
PRIZE_LABELS = {"name": "奖品名称", "kind": "类型", "points": "积分", "item_id": "商品编号", "weight": "权重",
                "stock": "库存(空为不限)", "sort": "排序", "active": "启用"}
LOTTERY_LABELS = {"cost_points": "每次消耗积分", "daily_limit": "每日次数", "active": "开启抽奖"}
CHECKIN_LABELS = {"cycle_rewards": "连续签到每天积分(逗号分隔)", "monthly_rewards": "月度累计奖励(天数:积分,逗号分隔)",
                  "makeups_per_month": "每月补签次数", "makeup_cost_points": "每次补签消耗积分"}
TASK_LABELS = {"code": "任务编码", "title": "任务名称", "kind": "周期", "event_type": "计数事件", "target": "目标次数",
               "reward_points": "奖励积分", "reward_growth": "奖励成长值", "link": "跳转页面", "sort": "排序",
               "active": "启用"}
STORE_LABELS = {"code": "门店编码", "name": "名称", "city": "城市", "address": "地址"}
STAFF_LABELS = {"username": "登录名", "password": "初始密码(至少 8 位)", "role": "角色", "store_ids": "所属门店编号(逗号分隔)",
                "display_name": "姓名", "wecom_userid": "企业微信账号"}
CHANNEL_LABELS = {"kind": "渠道类型(store/clerk/event/advert)", "name": "名称"}
TEMPLATE_LABELS = {"name": "名称", "wechat_template_id": "订阅消息模板 ID", "page": "点击跳转页面(不以 / 开头)",
                   "fields": "模板字段(JSON,如 {\"thing1\": \"{nickname}\"})", "group_text": "企业微信群文案",
                   "active": "启用"}
ROBOT_LABELS = {"name": "名称", "webhook_key": "Webhook key(保存后不再显示)", "scope": "用途(operators 运营群 / store 门店群)",
                "store_id": "门店编号(门店群必填)", "active": "启用"}
AUTOMATION_LABELS = {"active": "启用", "segment": "目标分群(标签编码或 rfm:分群,空为全部)"}
TAG_LABELS = {"code": "标签编码", "name": "名称", "description": "说明", "kind": "类型", "rule": "规则(JSON)",
              "active": "启用"}


def _create_staff(fields: dict) -> Staff:
    return staff.create_staff(fields["username"], fields["password"], fields["role"], fields["store_ids"],
                              fields.get("display_name"), fields.get("wecom_userid"))


SECTIONS: dict[str, Section] = {s.slug: s for s in (
    Section("earn-rules", "积分规则", RuleBody, RULE_LABELS,
            (("code", "编码"), ("name", "名称"), ("event_type", "事件"), ("mode", "方式"), ("points", "积分"),
             ("growth", "成长值"), ("cap_per_day", "日上限"), ("active", "启用")),
            rows=rules.list_rules, create=rules.create_rule,
            update=lambda key, f: rules.replace_rule(int(key), f), load=_by_id(EarnRule),
            help="事件发生时按规则发放积分与成长值;上限与预算防止超发。"),
    Section("campaigns", "活动与会员日", CampaignBody, CAMPAIGN_LABELS,
            (("name", "名称"), ("grade", "级别"), ("starts_at", "开始"), ("ends_at", "结束"),
             ("multiplier_pct", "倍数%"), ("active", "启用")),
            rows=rules.list_campaigns, create=rules.create_campaign,
            update=lambda key, f: rules.replace_campaign(int(key), f), load=_by_id(Campaign),
            help="活动期间对指定事件或等级按倍数发放积分,如会员日双倍。"),
    Section("levels", "会员等级与权益", LevelBody, LEVEL_LABELS,
            (("code", "编码"), ("name", "名称"), ("rank", "排序"), ("threshold", "门槛"),
             ("validity_months", "有效期(月)"), ("earn_multiplier_pct", "积分倍数%")),
            rows=_all(LevelDefinition, LevelDefinition.rank), key=lambda row: row.code,
            create=levels.save, update=lambda key, f: levels.save(f, code=key), load=_by_code(LevelDefinition)),
    Section("lottery-prizes", "抽奖奖品", PrizeBody, PRIZE_LABELS,
            (("name", "名称"), ("kind", "类型"), ("points", "积分"), ("weight", "权重"), ("stock", "库存"),
             ("active", "启用")),
            rows=lottery.list_prizes, create=lottery.save_prize,
            update=lambda key, f: lottery.save_prize(f, prize_id=int(key)), load=_by_id(LotteryPrize),
            help="中奖概率 = 权重 / 在库奖品权重之和;库存为 0 的奖品不会被抽中。"),
    Section("lottery", "抽奖设置", LotterySettingsBody, LOTTERY_LABELS, (), rows=lambda: [lottery.settings()],
            key=lambda row: "1", update=lambda key, f: lottery.update_settings(f), load=lambda key: lottery.settings(),
            single=True),
    Section("checkin", "签到奖励", CheckinSettingsBody, CHECKIN_LABELS, (), rows=lambda: [checkin.current()],
            key=lambda row: "1", update=lambda key, f: checkin.update_settings(f), load=lambda key: checkin.current(),
            single=True,
            help="连续签到第 N 天得第 N 个数的积分,签满一个周期后重新开始;断签从第一天算起。修改立即生效。"),
    Section("tasks", "任务中心", TaskBody, TASK_LABELS,
            (("code", "编码"), ("title", "名称"), ("kind", "周期"), ("event_type", "事件"), ("target", "目标"),
             ("reward_points", "积分"), ("reward_growth", "成长值"), ("sort", "排序"), ("active", "启用")),
            rows=taskcenter.list_tasks, create=taskcenter.create_task,
            update=lambda key, f: taskcenter.replace_task(int(key), f), load=_by_id(TaskDefinition),
            help="任务进度由会员的事件自动累计,完成后会员在任务中心领取奖励;停用的任务不再显示。"),
    Section("stores", "自提门店", StoreBody, STORE_LABELS,
            (("code", "编码"), ("name", "名称"), ("city", "城市"), ("address", "地址")),
            rows=_all(Store, Store.id), create=lambda f: staff.create_store(f["code"], f["name"], f.get("city"),
                                                                             f.get("address"))),
    Section("staff", "店员账号", StaffBody, STAFF_LABELS,
            (("username", "登录名"), ("display_name", "姓名"), ("role", "角色"), ("active", "启用")),
            rows=_all(Staff, Staff.id), create=_create_staff, writers=("admin",),
            help="店员在柜台核销提货码、为到店消费加减积分,只能操作所属门店。"),
    Section("channels", "渠道码", ChannelBody, CHANNEL_LABELS,
            (("code", "渠道码"), ("kind", "类型"), ("name", "名称"), ("active", "启用")),
            rows=_all(ChannelCode, ChannelCode.id), create=lambda f: referrals.create_channel(f["kind"], f["name"]),
            help="渠道码生成的小程序码带 scene,扫码注册的会员归因到该渠道。"),
    Section("message-templates", "消息模板", TemplateBody, TEMPLATE_LABELS,
            (("code", "编码"), ("name", "名称"), ("wechat_template_id", "模板 ID"), ("page", "跳转页面"),
             ("active", "启用")),
            rows=pushes.list_templates, key=lambda row: row.code, update=pushes.update_template,
            load=_by_code(MessageTemplate),
            help="订阅消息字段可用变量 {nickname}、{points}、{points_name}、{level}、{date}、{gift}、{multiplier}、"
                 "{programme},每个字段最多 20 字;群文案可用 {count}、{date}。会员订阅过该模板才会收到。"),
    Section("robots", "企业微信群机器人", RobotBody, ROBOT_LABELS,
            (("name", "名称"), ("scope", "用途"), ("store_id", "门店"), ("key_hint", "Webhook key"), ("active", "启用")),
            rows=lambda: [_robot_row(r) for r in pushes.list_robots()], create=pushes.create_robot,
            update=lambda key, f: pushes.update_robot(int(key), f), load=lambda key: _load_robot(key),
            edit_body=RobotUpdate,
            help="运营群机器人接收生日、会员日、活动公告与每日报表,门店群机器人只接收发给该门店的消息;"
                 "每个机器人每分钟最多发 20 条,其余排队。编辑时 Webhook key 留空则不变;停用的机器人不再发送。"),
    Section("automations", "自动化推送", AutomationBody, AUTOMATION_LABELS,
            (("code", "编码"), ("name", "名称"), ("template_code", "消息模板"), ("segment", "目标分群"),
             ("active", "启用")),
            rows=pushes.list_automations, key=lambda row: row.code, update=pushes.update_automation,
            load=_by_code(Automation),
            help="注册欢迎、升级祝贺、积分过期提醒:关闭后不再推送;设置目标分群后只推送给该分群的会员。"),
    Section("tags", "会员标签", TagBody, TAG_LABELS,
            (("code", "编码"), ("name", "名称"), ("kind", "类型"), ("members", "人数"), ("active", "启用")),
            rows=segments.list_tags, key=lambda row: row["code"], create=segments.create_tag,
            update=segments.update_tag, load=lambda key: _tag_row(key), edit_body=TagUpdate,
            dump={"mode": "json"}),
)}


class _Row(dict):
    """A service's dict answer read like a row (`row.name`) by the list and the form."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


def _tag_row(code: str) -> _Row | None:
    try:
        return _Row(segments.describe(code))
    except DomainError:
        return None


def _robot_row(robot) -> _Row:
    """A robot as the console shows it: its webhook key only as a hint (see tasks.admin)."""
    return _Row(id=robot.id, name=robot.name, scope=robot.scope, store_id=robot.store_id, active=robot.active,
                key_hint=pushes.key_hint(robot))


def _load_robot(key: str) -> _Row | None:
    robot = _by_id(Robot)(key)
    return None if robot is None else _robot_row(robot)


def _section(slug: str) -> Section:
    section = SECTIONS.get(slug)
    if section is None:
        abort(404)
    return section


def _cell(row: Any, name: str) -> Any:
    value = row.get(name) if isinstance(row, dict) else getattr(row, name, None)
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "是" if value else "否"
    return "" if value is None else value


def _form(section: Section, title: str, values: dict, errors: dict, editing: bool, status: int = 200):
    model = section.edit_body if editing and section.edit_body else section.body
    can_save = g.operator.role in section.writers
    return render_template("console/form.html", title=title, fields=forms.fields(model, section.labels),
                           values=values, errors=errors, help=section.help, can_save=can_save,
                           back=url_for("console.settings_index" if section.single else "console.settings_list",
                                        slug=section.slug)), status


def _save(section: Section, key: str | None, title: str):
    if g.operator.role not in section.writers:
        abort(403)
    editing = key is not None
    model = section.edit_body if editing and section.edit_body else section.body
    body, errors = forms.parse(model, request.form, section.labels)
    if not errors:
        # an edit body of its own (tags) changes only the fields given; a create or a replace sends them all
        fields = body.model_dump(exclude_unset=model is section.edit_body, **section.dump)
        try:
            section.update(key, fields) if editing else section.create(fields)
        except DomainError as exc:
            db.session.rollback()
            errors = {"__all__": exc.message}
        else:
            flash(f"已保存{section.title}")
            return redirect(url_for("console.settings_index" if section.single else "console.settings_list",
                                    slug=section.slug))
    return _form(section, title, request.form, errors, editing, 422)


@bp.get("/settings")
@requires(*READERS)
def settings_index():
    return render_template("console/settings.html", sections=SECTIONS.values())


@bp.get("/settings/<slug>")
@requires(*READERS)
def settings_list(slug: str):
    section = _section(slug)
    if section.single:
        return redirect(url_for("console.settings_edit", slug=slug, key="1"))
    rows = section.rows()
    table = [(section.key(row) if section.update else None, [_cell(row, c) for c, _ in section.columns])
             for row in rows]
    return render_template("console/settings_list.html", section=section, table=table,
                           can_create=section.create is not None and g.operator.role in section.writers)


@bp.route("/settings/<slug>/new", methods=["GET", "POST"])
@requires(*READERS)
def settings_new(slug: str):
    section = _section(slug)
    if section.create is None:
        abort(404)
    title = f"新建{section.title}"
    if request.method == "GET":
        return _form(section, title, {}, {}, editing=False)
    return _save(section, None, title)


@bp.route("/settings/<slug>/<key>", methods=["GET", "POST"])
@requires(*READERS)
def settings_edit(slug: str, key: str):
    section = _section(slug)
    row = section.load(key[:64]) if section.load else None
    if row is None or section.update is None:
        abort(404)
    title = section.title if section.single else f"编辑{section.title}"
    if request.method == "GET":
        return _form(section, title, section.values(row), {}, editing=True)
    return _save(section, key[:64], title)
