"""The console's pages. Each view reads its input, calls the feature's service, renders a template."""
from __future__ import annotations

import csv
import io
import secrets
from datetime import date

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge
from sqlalchemy import func, or_, select

from app.audit.models import AuditEntry
from app.console import auth, forms
from app.console.auth import EVERYONE, WRITERS, requires
from app.dashboard import charts, figures, stores as store_report
from app.errors import DomainError
from app.extensions import db
from app.imports import service as imports
from app.levels.models import LevelChange, MemberLevel
from app.members.models import Member, MemberFlag
from app.operators.models import Operator
from app.points import service as points
from app.points.models import LedgerEntry, PointAccount
from app.points.schemas import AdjustmentBody, ProgrammeUpdate
from app.programme import service as programme
from app.segments import service as segments
from app.segments.models import RFM_SEGMENTS
from app.staff.models import StaffAction, Store
from mall import items as catalog
from mall.models import Item, Order
from mall.schemas import ItemBody
from posters.models import Invitation, InviteCode

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static")

ITEM_LABELS = {"sku": "商品编码", "kind": "类型", "category": "分类", "title": "名称", "description": "描述",
               "images": "图片地址(逗号分隔)", "points_price": "积分价", "cash_price_cents": "现金价(分)",
               "voucher_value_cents": "券面值(分)", "total_stock": "总库存", "limit_per_member": "每人限兑",
               "limit_per_day": "每日限兑", "level_codes": "限等级(逗号分隔)", "starts_at": "上架时间",
               "ends_at": "下架时间", "sort": "排序", "status": "状态", "store_ids": "自提门店编号(逗号分隔)",
               "coupon_codes": "追加券码(JSON 数组)",
               "segment": "目标分群(标签编码或 rfm:分群,空为全部)"}
PROGRAMME_LABELS = {"name": "会员计划名称", "points_name": "积分名称", "points_per_yuan": "多少积分值 1 元",
                    "expiry_policy": "有效期规则", "expiry_days": "有效天数(按天过期时)",
                    "expiry_years": "年度清零:获得后第几年末过期", "poster_template": "默认海报设计",
                    "referral_qualify_on": "邀请达标条件", "member_day_enabled": "开启会员日",
                    "member_day_of_month": "会员日:每月几号(1-28)", "member_day_multiplier_pct": "会员日积分倍数(%)",
                    "member_day_name": "会员日名称"}
# Each export computes only the figure it needs: (figure function, rows picked from its result).
EXPORTS = {
    "members_daily": (figures.members, lambda f: f["daily"]),
    "points_daily": (figures.points, lambda f: f["daily"]),
    "levels": (figures.levels, lambda f: f),
    "funnel": (figures.referrals, lambda f: [f["funnel"]]),
    "top_inviters": (figures.referrals, lambda f: f["top_inviters"]),
    "channels": (figures.referrals, lambda f: f["channels"]),
    "best_sellers": (figures.mall, lambda f: f["best_sellers"]),
    "stock_alerts": (figures.mall, lambda f: f["stock_alerts"]),
    "pushes": (figures.pushes, lambda f: f),
    "campaigns": (figures.campaigns, lambda f: f),
    "birthdays": (figures.birthdays, lambda f: f),
}


UPLOAD_FRAMING = 64 * 1024  # multipart boundaries and the form's other fields around an uploaded file


@bp.before_request
def _csrf():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if request.endpoint == "console.import_upload" and auth.signed_in(*WRITERS):
            # only a signed-in writer may send a body as large as the import cap
            request.max_content_length = imports.max_file_bytes() + UPLOAD_FRAMING
        auth.csrf.protect()


@bp.errorhandler(CSRFError)
def _csrf_failed(error):
    return render_template("console/error.html", message="页面已过期或来源不明(CSRF 校验失败),请刷新后重试。"), 400


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    megabytes = imports.max_file_bytes() // (1024 * 1024) or 1
    return render_template("console/error.html", message=f"文件超过 {megabytes} MB,请拆分后上传,或用命令行导入。"), 413


@bp.errorhandler(403)
def _forbidden(error):
    return render_template("console/error.html", message="当前角色无权访问此页面或执行此操作。"), 403


@bp.errorhandler(404)
def _not_found(error):
    return render_template("console/error.html", message="页面或记录不存在。"), 404


@bp.context_processor
def _globals():
    return {"operator": g.get("operator"), "can_write": auth.can_write(), "points_name": programme.current().points_name}


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        try:
            auth.sign_in(request.form.get("username", "")[:64], request.form.get("password", "")[:256])
        except DomainError as exc:
            error = exc.message
        else:
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/console/") else url_for("console.dashboard"))
    return render_template("console/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    auth.sign_out()
    return redirect(url_for("console.login"))


def _period() -> figures.Period:
    default = figures.Period.last(30)
    try:
        start = date.fromisoformat(request.args["start"]) if request.args.get("start") else default.start
        end = date.fromisoformat(request.args["end"]) if request.args.get("end") else default.end
    except ValueError:
        abort(400)
    if start > end or (end - start).days > 731:
        abort(400)
    return figures.Period(start, end)


@bp.get("/")
@requires("admin", "operator", "analyst")
def dashboard():
    period = _period()
    data = figures.dashboard(period)
    return render_template("console/dashboard.html", f=data, charts=charts.all_charts(data), period=period,
                           exports=list(EXPORTS))


@bp.get("/export/<name>.csv")
@requires("admin", "operator", "analyst")
def export(name: str):
    if name not in EXPORTS:
        abort(404)
    figure, pick = EXPORTS[name]
    rows = pick(figure(_period()))
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 with a BOM
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}.csv"})


@bp.get("/members")
@requires("admin", "operator", "analyst")
def members():
    q = request.args.get("q", "").strip()[:64]
    segment = request.args.get("segment", "").strip()[:48]
    query = select(Member).order_by(Member.id.desc()).limit(50)
    if q:
        code_owner = select(InviteCode.member_id).where(InviteCode.code == q)
        query = query.where(or_(Member.phone == q, Member.nickname.ilike(f"%{q}%"), Member.id.in_(code_owner),
                                Member.id == (int(q) if q.isdigit() and len(q) < 12 else -1)))
    found, status = [], 200
    if segment:
        try:
            query = query.where(Member.id.in_(segments.members_in_segment(segment)))
        except DomainError as exc:
            flash(exc.message)
            query, status = None, 404
    if query is not None:
        found = db.session.scalars(query).all()
    return render_template("console/members.html", members=found, q=q, segment=segment,
                           tags=segments.list_tags(), rfm_segments=RFM_SEGMENTS), status


def _member_page(member: Member, errors: dict | None = None, status: int = 200):
    account = db.session.get(PointAccount, member.id)
    level = db.session.get(MemberLevel, member.id)
    ledger = db.session.scalars(select(LedgerEntry).where(LedgerEntry.member_id == member.id)
                                .order_by(LedgerEntry.id.desc()).limit(50)).all()
    changes = db.session.scalars(select(LevelChange).where(LevelChange.member_id == member.id)
                                 .order_by(LevelChange.id.desc()).limit(20)).all()
    orders = db.session.scalars(select(Order).where(Order.member_id == member.id).order_by(Order.id.desc()).limit(20)).all()
    invited = db.session.scalars(select(Invitation).where(Invitation.inviter_id == member.id)
                                 .order_by(Invitation.id.desc()).limit(20)).all()
    flags = db.session.scalars(select(MemberFlag).where(MemberFlag.member_id == member.id)).all()
    manual_tags = [t for t in segments.list_tags() if t["kind"] == "manual" and t["active"]]
    return render_template("console/member.html", member=member, account=account, level=level, ledger=ledger,
                           changes=changes, orders=orders, invited=invited, flags=flags, errors=errors or {},
                           tags=segments.tags_of(member.id), rfm=segments.rfm_of(member.id), manual_tags=manual_tags,
                           form=request.form, adjust_key=secrets.token_hex(12)), status


@bp.get("/members/<int:member_id>")
@requires("admin", "operator", "analyst")
def member(member_id: int):
    return _member_page(db.get_or_404(Member, member_id))


@bp.post("/members/<int:member_id>/adjust")
@requires(*WRITERS)
def adjust(member_id: int):
    subject = db.get_or_404(Member, member_id)
    body, errors = forms.parse(AdjustmentBody, request.form, {})
    if errors:
        return _member_page(subject, errors, 422)
    key = request.form.get("key", "")
    if not 8 <= len(key) <= 64:
        return _member_page(subject, {"amount": "表单已失效,请刷新后重试"}, 422)
    try:
        points.adjust(subject.id, body.amount, key=f"console:{key}", reason=body.reason, operator_id=g.operator.id,
                      currency=body.currency, penalty=body.penalty)
    except DomainError as exc:
        db.session.rollback()
        return _member_page(subject, {"amount": exc.message}, exc.status)
    flash("已调整" if not body.penalty else "已处罚")
    return redirect(url_for("console.member", member_id=subject.id))


@bp.post("/members/<int:member_id>/tags")
@requires(*WRITERS)
def tag_member(member_id: int):
    subject = db.get_or_404(Member, member_id)
    code = request.form.get("tag", "").strip()[:48]
    remove = request.form.get("remove") == "1"
    try:
        changed = (segments.untag_member(subject.id, code) if remove
                   else segments.tag_member(subject.id, code, g.operator.id)[1])
    except DomainError as exc:
        db.session.rollback()
        return _member_page(subject, {"tag": exc.message}, exc.status)
    if changed:
        flash("已移除标签" if remove else "已添加标签")
    return redirect(url_for("console.member", member_id=subject.id))


@bp.get("/items")
@requires("admin", "operator", "analyst")
def items():
    return render_template("console/items.html", items=db.session.scalars(select(Item).order_by(Item.sort, Item.id)).all())


def _item_form(item: Item | None, values: dict, errors: dict, status: int = 200):
    return render_template("console/form.html", title="编辑商品" if item else "新建商品",
                           fields=forms.fields(ItemBody, ITEM_LABELS), values=values, errors=errors,
                           back=url_for("console.items")), status


@bp.route("/items/new", methods=["GET", "POST"])
@requires(*WRITERS)
def new_item():
    if request.method == "GET":
        return _item_form(None, {}, {})
    return _save_item(None)


@bp.route("/items/<int:item_id>", methods=["GET", "POST"])
@requires("admin", "operator", "analyst")
def edit_item(item_id: int):
    item = db.get_or_404(Item, item_id)
    if request.method == "GET":
        values = {c: getattr(item, c, None) for c in ItemBody.model_fields}
        values["store_ids"] = sorted(catalog.pickup_store_ids(item.id)) or None
        return _item_form(item, forms.initial(values, ItemBody), {})
    if not auth.can_write():
        abort(403)
    return _save_item(item)


def _save_item(item: Item | None):
    body, errors = forms.parse(ItemBody, request.form, ITEM_LABELS)
    if not errors:
        try:
            saved = catalog.save(body.model_dump(), item_id=item.id if item else None)
        except DomainError as exc:
            db.session.rollback()
            errors = {"__all__": exc.message}
        else:
            flash(f"已保存商品「{saved.title}」")
            return redirect(url_for("console.items"))
    return _item_form(item, request.form, errors, 422)


@bp.route("/programme", methods=["GET", "POST"])
@requires("admin", "operator", "analyst")
def programme_settings():
    if request.method == "POST":
        if g.operator.role != "admin":
            abort(403)
        body, errors = forms.parse(ProgrammeUpdate, request.form, PROGRAMME_LABELS)
        if not errors:
            try:
                programme.update(body.model_dump(exclude_none=True))
            except DomainError as exc:
                db.session.rollback()
                errors = {"__all__": exc.message}
            else:
                flash("积分设置已保存")
                return redirect(url_for("console.programme_settings"))
        return _programme_form(request.form, errors), 422
    view = programme.current()
    values = forms.initial({name: getattr(view, name, None) for name in ProgrammeUpdate.model_fields}, ProgrammeUpdate)
    return _programme_form(values, {})


def _programme_form(values, errors: dict) -> str:
    return render_template("console/form.html", title="积分设置", fields=forms.fields(ProgrammeUpdate, PROGRAMME_LABELS),
                           values=values, errors=errors, back=url_for("console.dashboard"))


@bp.get("/audit")
@requires("admin", "operator", "analyst")
def audit_log():
    query = (select(AuditEntry, Operator.display_name).join(Operator, Operator.id == AuditEntry.operator_id)
             .order_by(AuditEntry.id.desc()).limit(200))
    table = request.args.get("table", "").strip()[:64]
    if table:
        query = query.where(AuditEntry.target_table == table)
    return render_template("console/audit.html", rows=db.session.execute(query).all(), table=table)


@bp.get("/stores")
@requires(*EVERYONE)
def stores():
    allowed = auth.store_ids(g.operator)
    query = (select(Store, func.count(StaffAction.id).filter(StaffAction.action == "pickup_confirm"),
                    func.count(StaffAction.id).filter(StaffAction.action.in_(("points_award", "points_deduct"))))
             .outerjoin(StaffAction, StaffAction.store_id == Store.id).group_by(Store.id).order_by(Store.id))
    if allowed is not None:
        query = query.where(Store.id.in_(allowed or [-1]))
    return render_template("console/stores.html", rows=db.session.execute(query).all())


@bp.get("/stores/<int:store_id>")
@requires(*EVERYONE)
def store(store_id: int):
    allowed = auth.store_ids(g.operator)
    if allowed is not None and store_id not in allowed:
        abort(403)
    shop = db.get_or_404(Store, store_id)
    period = _period()
    actions = db.session.scalars(select(StaffAction).where(StaffAction.store_id == store_id)
                                 .order_by(StaffAction.id.desc()).limit(100)).all()
    return render_template("console/store.html", store=shop, actions=actions, period=period,
                           f=store_report.store_figures(store_id, period))


# The configuration and import screens register their routes on this blueprint.
from app.console import import_pages, settings  # noqa: E402,F401
