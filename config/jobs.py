"""Background jobs: the schedule (cron in the programme's time zone), member day, message wording.

Operators edit templates and switch automations through the API; these are the demo defaults.
"""

# (job, cron "minute hour day month weekday" in the programme's time zone, queue)
SCHEDULE = [
    ("tasks.campaigns.run_birthdays", "0 9 * * *", "pushes"),
    ("tasks.campaigns.prepare_member_days", "5 0 * * *", "maintenance"),
    ("tasks.campaigns.run_member_day", "0 10 * * *", "pushes"),
    ("tasks.campaigns.run_campaign_announcements", "5 10 * * *", "pushes"),
    ("tasks.campaigns.run_points_maintenance", "10 0 * * *", "maintenance"),
    ("tasks.campaigns.run_level_expiry", "20 0 * * *", "maintenance"),
    ("tasks.campaigns.run_expiry_warnings", "0 11 * * *", "pushes"),
    ("tasks.campaigns.run_win_back", "0 15 * * *", "pushes"),
    ("tasks.campaigns.send_daily_report", "0 21 * * *", "pushes"),
    ("app.earning.farming.flag_farming", "30 1 * * *", "maintenance"),
    ("app.segments.rfm.compute_all", "40 1 * * *", "maintenance"),
    ("app.segments.service.refresh_rule_tags", "0 2 * * *", "maintenance"),  # after RFM: tags may use it
]
# (job, every N seconds, queue): keep-alive work that must not wait a day
INTERVALS = [
    ("tasks.outbox.drain", 15, "default"),
    ("tasks.delivery.deliver_robot_messages", 20, "pushes"),
    ("mall.orders.expire_unpaid", 60, "maintenance"),
]

BIRTHDAYS = {"by": "day"}  # "day": on the birthday; "month": on the first day of the birthday month
# The demo's member day, seeded into the programme; operators change it there (PATCH /api/v1/admin/programme).
MEMBER_DAY = {"member_day_enabled": True, "member_day_of_month": 8, "member_day_multiplier_pct": 200,
              "member_day_name": "会员日"}
WIN_BACK = {"silent_days": 60, "penalty_points": 0}  # a penalty > 0 deducts points from silent members
BATCH_SIZE = 500  # messages per job
PUSH_CONCURRENCY = 8  # calls to WeChat in flight per job

TEMPLATES = [
    {"code": "welcome", "name": "入会欢迎", "wechat_template_id": "tmpl-welcome", "page": "pages/index/index",
     "fields": {"thing1": "欢迎加入{programme}", "thing2": "入会礼 {points} {points_name} 已到账"},
     "group_text": None},
    {"code": "birthday", "name": "生日祝福", "wechat_template_id": "tmpl-birthday", "page": "pages/member/index",
     "fields": {"thing1": "亲爱的{nickname},祝您生日快乐", "thing2": "生日礼:{gift}"},
     "group_text": "今天有 {count} 位会员过生日,生日礼已发放。"},
    {"code": "member_day", "name": "会员日", "wechat_template_id": "tmpl-member-day", "page": "pages/mall/index",
     "fields": {"thing1": "今天是{programme}会员日", "thing2": "消费积分 {multiplier} 倍,{date} 当天有效"},
     "group_text": "【会员日】今天 {date} 会员消费积分 {multiplier} 倍,已提醒 {count} 位会员。"},
    {"code": "campaign", "name": "活动通知", "wechat_template_id": "tmpl-campaign", "page": "pages/index/index",
     "fields": {"thing1": "{campaign}", "thing2": "{message}"},
     "group_text": "【{campaign}】{message}(积分 {multiplier} 倍,已通知 {count} 位会员)"},
    {"code": "points_expiring", "name": "积分即将过期", "wechat_template_id": "tmpl-points-expiring",
     "page": "pages/mall/index",
     "fields": {"thing1": "您有 {points} {points_name}将于 {date} 过期", "thing2": "快去积分商城兑换好礼吧"},
     "group_text": None},
    {"code": "level_up", "name": "等级提升", "wechat_template_id": "tmpl-level-up", "page": "pages/member/index",
     "fields": {"thing1": "恭喜{nickname}升级为{level}", "thing2": "新等级权益已开通"}, "group_text": None},
    {"code": "level_expiring", "name": "等级即将到期", "wechat_template_id": "tmpl-level-expiring",
     "page": "pages/member/index",
     "fields": {"thing1": "您的{level}将于 {date} 到期", "thing2": "继续消费累积成长值即可保级"}, "group_text": None},
    {"code": "win_back", "name": "好久不见", "wechat_template_id": "tmpl-win-back", "page": "pages/index/index",
     "fields": {"thing1": "{nickname},好久不见", "thing2": "您还有 {points} {points_name}可用,回来看看吧"},
     "group_text": None},
]

AUTOMATIONS = [
    {"code": "welcome", "name": "注册欢迎(积分由「注册有礼」规则发放)", "template_code": "welcome"},
    {"code": "level_up", "name": "升级祝贺", "template_code": "level_up"},
    {"code": "points_expiring", "name": "积分过期提醒(30 天与 7 天前)", "template_code": "points_expiring"},
]
