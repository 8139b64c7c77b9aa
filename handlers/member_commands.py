"""What a member can say to the official account."""
from __future__ import annotations

from app.checkin import service as checkin
from app.errors import DomainError
from app.extensions import db
from app.members.models import Member
from app.points import queries
from app.programme import service as programme
from app.taskcenter import service as taskcenter
from handlers import linking
from handlers.registry import Incoming, Registry

members = Registry("members")

HELP = ("可以发送:\n签到 — 每日签到\n积分 — 查看积分与即将过期\n任务 — 今日任务\n海报 — 我的邀请海报\n"
        "商城 — 积分商城\n帮助 — 显示本说明")
HOW_TO_LINK = ("你还没有绑定会员账号。请打开小程序「我的 - 绑定公众号」获取 6 位绑定码,"
               "然后在这里发送:绑定 123456")


def _points_name() -> str:
    return programme.current().points_name


@members.command("签到", "qd")
def check_in(msg: Incoming) -> str:
    try:
        result = checkin.check_in(msg.member_id)
    except DomainError as exc:
        return exc.message
    lines = [f"签到成功!获得 {result.points} {_points_name()},已连续签到 {result.streak} 天。"]
    if result.monthly_bonus:
        lines.append(f"本月累计签到奖励 {result.monthly_bonus} {_points_name()}已到账。")
    return "\n".join(lines)


@members.command("积分", "余额", "jf")
def balance(msg: Incoming) -> str:
    account = queries.account(msg.member_id)
    points = account["points"]
    lines = [f"可用{points['name']}:{points['available']}(约合 {points['money_cents'] / 100:.2f} 元)"]
    if points["pending"]:
        lines.append(f"待入账:{points['pending']}")
    expiring = points["expiring"]
    if expiring["amount"]:
        lines.append(f"即将过期:{expiring['amount']},{expiring['date']:%Y-%m-%d} 后失效,记得去商城兑换哦")
    lines.append(f"成长值:{account['growth']}")
    return "\n".join(lines)


@members.command("任务", "rw")
def tasks(msg: Incoming) -> str:
    items = taskcenter.list_tasks(msg.member_id)
    if not items:
        return "今天没有任务,明天再来看看吧"
    marks = {"claimed": "✅ 已领取", "claimable": "🎁 可领取", "todo": "⬜ 未完成"}
    lines = [f"{marks[t['status']]} {t['title']}({t['progress']}/{t['target']})+{t['reward_points']}"
             for t in items]
    return "今日任务:\n" + "\n".join(lines) + "\n在小程序「任务中心」领取奖励"


@members.command("海报", "hb")
def poster(msg: Incoming) -> str:
    from tasks import outbox

    outbox.enqueue("handlers.jobs.send_poster", msg.user, msg.member_id, queue="default")
    db.session.commit()
    return "你的专属邀请海报正在生成,稍后发给你。好友扫码注册并绑定手机号后,你们都能得积分。"


@members.command("商城", "sc", needs_link=False)
def mall(msg: Incoming) -> str:
    return f"用{_points_name()}兑好礼:打开小程序「积分商城」即可兑换。"


@members.command("帮助", "help", "?", "?", needs_link=False)
def help_(msg: Incoming) -> str:
    return HELP if msg.member_id else HOW_TO_LINK + "\n\n" + HELP


@members.command(pattern=r"绑定\s*(\d{6})", needs_link=False)
def bind(msg: Incoming) -> str:
    try:
        member_id = linking.take_code("member", msg.match.group(1), msg.user)
    except DomainError as exc:
        return exc.message
    member = db.session.get(Member, member_id) if member_id else None
    if member is None or not member.is_active:
        return "绑定码无效或已过期,请在小程序里重新获取"
    linking.link_member(msg.user, member.id, "bind_code")
    return f"绑定成功!{member.nickname or '会员'},以后发送「签到」「积分」即可。"


@members.on_event("subscribe", "subscribe_scan")
def subscribed(msg: Incoming) -> str:
    if msg.event_key:  # followed through a parametric QR code: an invite or channel code, kept for the funnel
        from posters import referrals

        referrals.record_scan(msg.event_key[:32], member_id=msg.member_id,
                              visitor=None if msg.member_id else f"mp:{msg.user}"[:64])
    greeting = "欢迎关注!"
    return greeting + ("\n" + HELP if msg.member_id else "\n" + HOW_TO_LINK)


members.unlinked = lambda msg: HOW_TO_LINK
members.fallback = lambda msg: "没听懂呢。" + (HELP if msg.member_id else HOW_TO_LINK)
