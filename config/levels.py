"""The demo programme's levels, as the seeds describe them. Data, not code: operators edit them."""

DEMO_LEVELS = [
    {"code": "registered", "name": "注册会员", "rank": 0, "threshold": 0,
     "birthday_points": 50, "service_rights": ["会员专属价"]},
    {"code": "bronze", "name": "铜卡会员", "rank": 1, "threshold": 0, "condition": "first_purchase",
     "birthday_points": 100, "service_rights": ["会员专属价", "生日礼"]},
    {"code": "silver", "name": "银卡会员", "rank": 2, "threshold": 2_000, "validity_months": 12,
     "expiry_action": "reset", "earn_multiplier_pct": 110, "birthday_points": 200, "discount_pct": 98,
     "service_rights": ["会员日双倍积分"], "member_day_multiplier_pct": 200},
    {"code": "gold", "name": "金卡会员", "rank": 3, "threshold": 10_000, "validity_months": 12,
     "expiry_action": "discount", "action_percent": 30, "earn_multiplier_pct": 120, "birthday_points": 500,
     "discount_pct": 95, "member_day_multiplier_pct": 200, "service_rights": ["专属客服", "优先参加线下活动"]},
    {"code": "diamond", "name": "钻石会员", "rank": 4, "threshold": 30_000, "validity_months": 12,
     "expiry_action": "deduct", "action_numerator": 1, "action_denominator": 3, "earn_multiplier_pct": 150,
     "birthday_points": 1_000, "discount_pct": 90, "member_day_multiplier_pct": 300,
     "service_rights": ["专属客服", "优先参加线下活动", "新品优先体验", "年度答谢会邀请"]},
]
