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
