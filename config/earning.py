"""The catalogue of events members earn from, and the demo programme's rules and check-in table.

`source` says who may report an event: `server` (the brand's systems, signed), `client` (the
mini-program, for actions only the client sees, with tight caps), `internal` (this service itself:
check-in, tasks, referrals, sign-in at offline events). Categories follow the seeds: execution,
participation, efficiency, consumption, activity.
"""

EVENT_TYPES = {
    "register":            {"category": "execution",     "source": "internal", "label": "注册会员"},
    "login":               {"category": "execution",     "source": "internal", "label": "登录"},
    "profile_completed":   {"category": "execution",     "source": "internal", "label": "完善资料"},
    "phone_bound":         {"category": "execution",     "source": "internal", "label": "绑定手机"},
    "checkin":             {"category": "activity",      "source": "internal", "label": "每日签到"},
    "checkin_monthly":     {"category": "activity",      "source": "internal", "label": "月度累计签到奖励"},
    "task_reward":         {"category": "activity",      "source": "internal", "label": "任务奖励"},
    "offline_event_signin": {"category": "participation", "source": "internal", "label": "线下活动签到"},
    "invite_qualified":    {"category": "efficiency",    "source": "internal", "label": "邀请好友"},
    "invited_bonus":       {"category": "efficiency",    "source": "internal", "label": "受邀注册奖励"},
    "share":               {"category": "efficiency",    "source": "client",   "label": "分享"},
    "browse":              {"category": "participation", "source": "client",   "label": "浏览内容"},
    "purchase":            {"category": "consumption",   "source": "server",   "label": "消费"},
    "refund":              {"category": "consumption",   "source": "server",   "label": "退款"},
    "live_stream_watched": {"category": "participation", "source": "server",   "label": "观看直播"},
    "course_completed":    {"category": "participation", "source": "server",   "label": "完成课程"},
    "game_played":         {"category": "activity",      "source": "server",   "label": "参与互动游戏"},
}

CATEGORIES = ("execution", "participation", "efficiency", "consumption", "activity")

# The demo programme's earn rules (operators edit them through the API and console).
DEMO_RULES = [
    {"code": "register", "name": "注册有礼", "event_type": "register", "mode": "fixed", "points": 100, "growth": 50, "cap_lifetime": 1},
    {"code": "profile", "name": "完善资料", "event_type": "profile_completed", "mode": "fixed", "points": 50, "growth": 20, "cap_lifetime": 1},
    {"code": "phone", "name": "绑定手机", "event_type": "phone_bound", "mode": "fixed", "points": 50, "growth": 20, "cap_lifetime": 1},
    {"code": "checkin", "name": "每日签到", "event_type": "checkin", "mode": "attribute", "growth": 2, "cap_per_day": 1,
     "apply_campaign_multiplier": True},
    {"code": "checkin-monthly", "name": "月度累计签到", "event_type": "checkin_monthly", "mode": "attribute"},
    {"code": "task", "name": "任务奖励", "event_type": "task_reward", "mode": "attribute"},
    {"code": "offline-event", "name": "线下活动签到", "event_type": "offline_event_signin", "mode": "attribute", "growth": 30},
    {"code": "share", "name": "分享好物", "event_type": "share", "mode": "fixed", "points": 5, "cap_per_day": 3},
    {"code": "browse", "name": "浏览内容", "event_type": "browse", "mode": "fixed", "points": 2, "cap_per_day": 5},
    {"code": "purchase", "name": "消费返积分", "event_type": "purchase", "mode": "per_yuan", "points_per_yuan": 1,
     "growth_per_yuan": 1, "hold_days": 7, "apply_level_multiplier": True, "apply_campaign_multiplier": True},
    {"code": "live", "name": "观看直播", "event_type": "live_stream_watched", "mode": "fixed", "points": 10, "growth": 5, "cap_per_day": 2},
    {"code": "course", "name": "完成课程", "event_type": "course_completed", "mode": "fixed", "points": 30, "growth": 15, "cap_per_week": 5},
    {"code": "invite", "name": "邀请好友", "event_type": "invite_qualified", "mode": "attribute", "cap_per_day": 5, "cap_per_month": 30},
    {"code": "invited", "name": "受邀注册", "event_type": "invited_bonus", "mode": "attribute", "cap_lifetime": 1},
]

# Check-in: day N of a streak gives CYCLE[(N - 1) % len(CYCLE)]; the 7th day's bonus comes once a cycle.
DEMO_CHECKIN = {
    "cycle_rewards": [5, 5, 10, 10, 15, 15, 50],
    "monthly_rewards": {"10": 20, "20": 50, "28": 100},
    "makeups_per_month": 2,
    "makeup_cost_points": 20,
}

# The task center (任务中心): what members are asked to do, by period. A task completes from the
# events that reach the engine, never from the client saying so; its reward is claimed by the member.
DEMO_TASKS = [
    {"code": "complete-profile", "title": "完善个人资料", "kind": "once", "event_type": "profile_completed",
     "reward_points": 20, "link": "pages/profile/edit"},
    {"code": "bind-phone", "title": "绑定手机号", "kind": "once", "event_type": "phone_bound",
     "reward_points": 20, "link": "pages/profile/phone"},
    {"code": "first-purchase", "title": "完成首次消费", "kind": "once", "event_type": "purchase",
     "reward_points": 100, "reward_growth": 50, "link": "pages/mall/index"},
    {"code": "first-invite", "title": "成功邀请一位好友", "kind": "once", "event_type": "invite_qualified",
     "reward_points": 50, "link": "pages/invite/poster"},
    {"code": "daily-checkin", "title": "每日签到", "kind": "daily", "event_type": "checkin",
     "reward_points": 2, "link": "pages/checkin/index"},
    {"code": "daily-browse", "title": "浏览 3 篇内容", "kind": "daily", "event_type": "browse", "target": 3,
     "reward_points": 5, "link": "pages/content/index"},
    {"code": "daily-share", "title": "分享一次好物", "kind": "daily", "event_type": "share",
     "reward_points": 5, "link": "pages/content/index"},
    {"code": "daily-live", "title": "观看一场直播", "kind": "daily", "event_type": "live_stream_watched",
     "reward_points": 10, "link": "pages/live/index"},
    {"code": "weekly-course", "title": "本周完成 2 节课程", "kind": "weekly", "event_type": "course_completed",
     "target": 2, "reward_points": 30, "reward_growth": 10, "link": "pages/course/index"},
]
