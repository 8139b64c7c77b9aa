"""What staff can say to the WeCom app: verify a pickup code in two steps, see today's figures."""
from __future__ import annotations

from sqlalchemy import select

from app.errors import DomainError
from app.extensions import db, get_redis
from app.staff import service as staff_service
from app.staff.models import Staff, Store
from handlers import linking
from handlers.registry import Incoming, Registry
from mall import counter

staff = Registry("staff")

PENDING_SECONDS = 300
HELP = ("可以发送:\n13 位取货码 — 查看订单,再回复「确认」完成核销\n今日 — 本门店今日核销与积分\n"
        "门店 门店编码 — 切换当前门店\n帮助 — 显示本说明")
HOW_TO_LINK = "你还没有绑定店员账号。请在店员端「绑定企业微信」获取 6 位绑定码,然后发送:绑定 123456"


def _staff(msg: Incoming) -> Staff:
    return db.session.get(Staff, msg.staff_id)


def _store(member: Staff) -> Store | None:
    """The store the clerk acts for: the one chosen with 门店, else their first store."""
    ids = staff_service.store_ids(member)
    chosen = get_redis().get(f"bot:store:{member.id}")
    store_id = int(chosen) if chosen and int(chosen) in ids else min(ids, default=None)
    return db.session.get(Store, store_id) if store_id else None


@staff.command(pattern=r"\d{13}")
def preview(msg: Incoming) -> str:
    member = _staff(msg)
    store = _store(member)
    if store is None:
        return "你还没有所属门店,请联系管理员"
    code = msg.match.group(0)
    try:
        seen = counter.preview(member, code, store.id)
    except DomainError as exc:
        return exc.message
    lines = [f"【{store.name}】订单 {seen['order_no']}", f"商品:{seen['item']} x{seen['quantity']}",
             f"会员:{seen['member']}", f"状态:{seen['status']}"]
    if seen["can_confirm"]:
        get_redis().set(f"bot:pending:{member.id}", f"{store.id}:{code}", ex=PENDING_SECONDS)
        lines.append("核对无误请回复「确认」完成核销(5 分钟内有效)")
    else:
        lines.append({"already_fulfilled": "该取货码已核销", "pickup_code_expired": "取货码已过期",
                      "item_not_at_this_store": "该商品不在本门店自提"}.get(seen["problem"], "订单当前不可核销"))
    return "\n".join(lines)


@staff.command("确认", "qr")
def confirm(msg: Incoming) -> str:
    member = _staff(msg)
    pending = get_redis().getdel(f"bot:pending:{member.id}")
    if pending is None:
        return "没有待确认的取货码,请先发送 13 位取货码"
    store_id, code = pending.decode().split(":", 1)
    try:
        done = counter.confirm(member, code, int(store_id))
    except DomainError as exc:
        return exc.message
    return f"核销成功:订单 {done['order_no']} 已交付"


@staff.command("今日", "jr")
def today(msg: Incoming) -> str:
    member = _staff(msg)
    store = _store(member)
    if store is None:
        return "你还没有所属门店,请联系管理员"
    figures = counter.today_at_store(member, store.id)
    return (f"【{store.name}】今日\n核销 {figures['verifications']} 单\n"
            f"消费赠积分 {figures['awards']} 笔,共 {figures['points_awarded']} 积分\n"
            f"积分抵扣 {figures['deductions']} 笔")


@staff.command(pattern=r"门店\s*(\S+)")
def choose_store(msg: Incoming) -> str:
    member = _staff(msg)
    store = db.session.scalar(select(Store).where(Store.code == msg.match.group(1)))
    if store is None or store.id not in staff_service.store_ids(member):
        return "你不在这家门店,无法切换"
    get_redis().set(f"bot:store:{member.id}", store.id)
    return f"当前门店已切换为【{store.name}】"


@staff.command("帮助", "help", "?", "?", needs_link=False)
def help_(msg: Incoming) -> str:
    return HELP if msg.staff_id else HOW_TO_LINK


@staff.command(pattern=r"绑定\s*(\d{6})", needs_link=False)
def bind(msg: Incoming) -> str:
    try:
        staff_id = linking.take_code("staff", msg.match.group(1), msg.user)
    except DomainError as exc:
        return exc.message
    member = db.session.get(Staff, staff_id) if staff_id else None
    if member is None or not member.active:
        return "绑定码无效或已过期,请在店员端重新获取"
    linking.link_staff(msg.user, member.id)
    return f"绑定成功,{member.display_name}!发送「帮助」查看可用指令。"


staff.unlinked = lambda msg: HOW_TO_LINK
staff.fallback = lambda msg: "没听懂呢。" + (HELP if msg.staff_id else HOW_TO_LINK)
