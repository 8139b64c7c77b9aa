"""The default programme `make run` seeds: data, not code. Operators change all of it later."""
from datetime import date

PROGRAMME = {
    "name": "巧乐会员中心",
    "points_name": "巧乐值",      # what members see instead of "points"
    "points_per_yuan": 100,       # 100 巧乐值 = 1 元, for accounting and for deduction at the till
    "expiry_policy": "annual",    # points earned in year Y expire at the end of year Y+1
    "expiry_days": 365,
    "expiry_years": 1,
}

DEMO_ADMIN = {"username": "admin", "password": "demo-admin-2026"}

# Sandbox users: log in with codes like "alice.1".
DEMO_MEMBERS = [
    {"name": "alice", "nickname": "Alice 小爱", "birthday": date(1992, 3, 8), "region": "上海",
     "welcome_points": 500, "welcome_growth": 100},
    {"name": "bob", "nickname": "鲍勃", "birthday": date(1988, 11, 22), "region": "杭州",
     "company": "杭州智造有限公司", "industry": "制造业", "company_size": "50-199", "job_role": "采购经理",
     "welcome_points": 2000, "welcome_growth": 300},
]

# The demo mall: stores, a clerk per store, items of every kind, and a lottery.
DEMO_STORES = [
    {"code": "SH-JA", "name": "上海静安旗舰店", "city": "上海", "address": "南京西路 1601 号"},
    {"code": "HZ-XH", "name": "杭州西湖店", "city": "杭州", "address": "延安路 98 号"},
]
DEMO_STAFF = [
    {"username": "clerk-sh", "password": "demo-clerk-2026", "role": "clerk", "stores": ["SH-JA"], "display_name": "静安店员小王"},
    {"username": "clerk-hz", "password": "demo-clerk-2026", "role": "clerk", "stores": ["HZ-XH"], "display_name": "西湖店员小李"},
]
DEMO_ITEMS = [
    {"sku": "CUP-01", "kind": "pickup", "category": "家居", "title": "品牌保温杯", "points_price": 800,
     "total_stock": 50, "status": "on_sale", "stores": ["SH-JA", "HZ-XH"], "limit_per_member": 2},
    {"sku": "COFFEE-5", "kind": "coupon", "category": "券", "title": "5 元咖啡券", "points_price": 300,
     "total_stock": 20, "status": "on_sale", "coupon_codes": [f"CAFE-DEMO-{i:04d}" for i in range(20)]},
    {"sku": "BAG-01", "kind": "delivery", "category": "周边", "title": "帆布袋(包邮)", "points_price": 1200,
     "total_stock": 30, "status": "on_sale"},
    {"sku": "VOUCHER-10", "kind": "voucher", "category": "券", "title": "10 元门店抵扣券", "points_price": 900,
     "voucher_value_cents": 1000, "total_stock": 100, "status": "on_sale", "limit_per_day": 1},
    {"sku": "SPEAKER-01", "kind": "pickup", "category": "数码", "title": "蓝牙音箱(200 积分 + 99 元)", "points_price": 200,
     "cash_price_cents": 9900, "total_stock": 10, "status": "on_sale", "stores": ["SH-JA"]},
    {"sku": "GOLD-GIFT", "kind": "delivery", "category": "会员专享", "title": "金卡专享礼盒", "points_price": 3000,
     "total_stock": 10, "status": "on_sale", "level_codes": ["gold", "diamond"]},
]
DEMO_LOTTERY = {"cost_points": 20, "daily_limit": 3, "prizes": [
    {"name": "100 巧乐值", "kind": "points", "points": 100, "weight": 10},
    {"name": "10 巧乐值", "kind": "points", "points": 10, "weight": 30},
    {"name": "5 元咖啡券", "kind": "item", "item_sku": "COFFEE-5", "weight": 5, "stock": 5},
    {"name": "谢谢参与", "kind": "nothing", "weight": 55},
]}

# Referrals: what both sides earn when an invitee qualifies (when they do is the programme setting
# `referral_qualify_on`: a bound phone, or a first purchase)
# (through the earn rules `invite` and `invited`, whose caps per inviter per day and month apply).
REFERRAL = {"inviter_points": 200, "invitee_points": 100}
