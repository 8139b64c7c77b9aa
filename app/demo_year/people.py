"""Who the demo year's members are: their profile, and how they behave.

Personas: a few heavy users (open the mini-program most days), regulars, many light users, and
one-off visitors who register and hardly come back; most but not all go quiet after a while
(dormant). Purchases are a separate habit: some members buy often and a lot, many now and then,
many never. Everything is drawn from one seeded `random.Random`, so a seed gives the same programme.
"""
from __future__ import annotations

import math
import random
import string
from datetime import date, datetime, timedelta

from app.demo_year.books import Account

PERSONAS = {  # share, daily visit probability range, check-in probability on a visit, redeems
    "heavy": (0.08, (0.70, 0.97), 0.98, 0.9),
    "regular": (0.27, (0.28, 0.65), 0.93, 0.8),
    "light": (0.45, (0.04, 0.22), 0.85, 0.6),
    "one_off": (0.20, (0.005, 0.02), 0.70, 0.2),
}
BUYERS = {  # persona: (share who buy, mean days between purchases, median basket in yuan)
    "heavy": (0.85, 12, 260),
    "regular": (0.60, 30, 180),
    "light": (0.35, 75, 140),
    "one_off": (0.25, 400, 120),
}
CITIES = [("上海", 30), ("杭州", 18), ("苏州", 8), ("南京", 8), ("北京", 7), ("深圳", 6), ("广州", 5), ("宁波", 5),
          ("无锡", 4), ("成都", 4), ("武汉", 3), ("合肥", 2)]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏辉宇浩然欣怡梓涵子轩雨诗晨思佳嘉琪俊博文悦"
LATIN = ["Lucy", "Kevin", "Amy", "Leo", "Coco", "Jack", "Mia", "Tony", "Vivian", "Eric", "Luna", "Sam"]
COMPANIES = [("上海云杉信息科技有限公司", "互联网", "200-999", "产品经理"), ("杭州智造有限公司", "制造业", "50-199", "采购经理"),
             ("苏州精益医疗器械有限公司", "医疗", "200-999", "行政主管"), ("南京启明教育咨询有限公司", "教育", "10-49", "人事专员"),
             ("深圳海川贸易有限公司", "零售", "50-199", "门店经理"), ("北京远航物流有限公司", "物流", "1000+", "运营专员")]
_CODE_ALPHABET = string.ascii_letters + string.digits


class Person:
    """A generated member: the `members` row, the behaviour drawn for them, and their state in the
    year (balances in `account`, level, check-in run, caps, orders, invitation)."""

    __slots__ = ("id", "name", "persona", "account", "openid", "session_key", "phone", "nickname", "avatar_url",
                 "gender", "birthday", "region", "company", "industry", "company_size", "job_role", "register_scene",
                 "created_at", "updated_at", "last_login_at", "phone_bound_at",
                 "visit_p", "checkin_p", "dormant_on", "buy_every", "basket_yuan", "online", "store", "redeems",
                 "profile_plan", "phone_plan", "sharer", "influence",
                 "level_code", "level_reached_at", "level_expires_at", "has_purchase", "caps", "seen", "claims",
                 "checkins", "month_days", "makeups", "purchases", "live_items", "orders_by_day", "invite_code", "invitation",
                 "visits")

    def __init__(self, member_id: int, name: str, openid: str, created_at: datetime) -> None:
        self.id, self.name, self.openid, self.created_at = member_id, name, openid, created_at
        self.updated_at = self.last_login_at = created_at
        self.account = Account(member_id, created_at)
        self.phone = self.nickname = self.avatar_url = self.birthday = self.region = None
        self.company = self.industry = self.company_size = self.job_role = self.register_scene = None
        self.phone_bound_at = None
        self.gender = 0
        self.level_code = self.level_reached_at = self.level_expires_at = None
        self.has_purchase = False
        self.caps: dict = {}
        self.seen: dict[str, list] = {}
        self.claims: set[tuple[int, str]] = set()
        self.checkins: dict[date, list] = {}
        self.month_days: dict[tuple[int, int], int] = {}
        self.makeups: dict[tuple[int, int], int] = {}
        self.purchases: dict = {}
        self.live_items: dict[int, int] = {}
        self.orders_by_day: dict[tuple[int, date], int] = {}
        self.invite_code = self.invitation = None
        self.visits = 0

    def saw(self, event_type: str, day: date) -> None:
        """Count an event for task progress: ever, this business day, this week."""
        week = day - timedelta(days=day.weekday())
        seen = self.seen.get(event_type)
        if seen is None:
            self.seen[event_type] = [1, day, 1, week, 1]
            return
        seen[0] += 1
        seen[1:3] = [day, seen[2] + 1] if seen[1] == day else [day, 1]
        seen[3:5] = [week, seen[4] + 1] if seen[3] == week else [week, 1]

    def progress(self, event_type: str, kind: str, day: date) -> int:
        seen = self.seen.get(event_type)
        if seen is None:
            return 0
        if kind == "once":
            return seen[0]
        if kind == "daily":
            return seen[2] if seen[1] == day else 0
        return seen[4] if seen[3] == day - timedelta(days=day.weekday()) else 0

    def visit_probability(self, day: date, member_day: bool) -> float:
        p = self.visit_p
        if self.dormant_on is not None and day >= self.dormant_on:
            p *= 0.03
        if day.weekday() >= 5:
            p *= 1.1
        if member_day:
            p *= 1.3
        return min(p, 0.99)

    def row(self, appid: str) -> tuple:
        return (self.id, appid, self.openid, None, self.session_key, "active", self.phone, self.nickname,
                self.avatar_url, self.gender, self.birthday, self.region, self.company, self.industry,
                self.company_size, self.job_role, self.register_scene, self.created_at, self.updated_at,
                self.last_login_at, self.phone_bound_at, None)


MEMBER_COLUMNS = ("id", "appid", "openid", "unionid", "session_key", "status", "phone", "nickname", "avatar_url",
                  "gender", "birthday", "region", "company", "industry", "company_size", "job_role", "register_scene",
                  "created_at", "updated_at", "last_login_at", "phone_bound_at", "erased_at")


class Population:
    """Draws members' registrations, profiles and habits."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._phones: set[str] = set()
        self._cities, self._city_weights = zip(*CITIES)

    def registration_days(self, count: int, days: int, member_days: set[int]) -> list[int]:
        """Day indexes of `count` registrations: growing over the period, more at weekends and on member days."""
        weights = []
        for d in range(days):
            weight = 1.0 + 2.5 * d / max(days - 1, 1)
            weight *= 1.25 if d % 7 in (5, 6) else 1.0
            weight *= 1.8 if d in member_days else 1.0
            weights.append(weight)
        return sorted(self.rng.choices(range(days), weights=weights, k=count))

    def habits(self, person: Person, day0: date) -> None:
        rng = self.rng
        persona = rng.choices(list(PERSONAS), weights=[p[0] for p in PERSONAS.values()])[0]
        _, (low, high), checkin_p, redeems = PERSONAS[persona]
        person.persona = persona
        person.visit_p = rng.uniform(low, high)
        person.checkin_p = checkin_p
        person.redeems = rng.random() < redeems
        person.dormant_on = None
        if persona != "one_off" and rng.random() < 0.4:
            person.dormant_on = day0 + timedelta(days=int(rng.expovariate(1 / 70)) + 3)
        share, every, basket = BUYERS[persona]
        person.buy_every = rng.uniform(0.6, 1.6) * every if rng.random() < share else None
        person.basket_yuan = basket * rng.uniform(0.6, 1.6)
        person.online = rng.random() < 0.45
        person.store = rng.random() < 0.65
        person.profile_plan = rng.choices(("complete", "partial", "none"), weights=(45, 25, 30))[0]
        person.phone_plan = rng.choices((0, 1, 2, None), weights=(40, 12, 8, 40))[0]  # visit when bound
        person.sharer = rng.random() < {"heavy": 0.5, "regular": 0.25, "light": 0.08, "one_off": 0.02}[persona]
        person.influence = rng.paretovariate(1.6) if person.sharer else 0.0

    def openid_secret(self) -> str:
        return "".join(self.rng.choice(_CODE_ALPHABET) for _ in range(22)) + "=="

    def code(self, prefix: str) -> str:
        """An invite or channel code: the prefix and 10 characters, as `posters.referrals` makes them."""
        return prefix + "".join(self.rng.choice(_CODE_ALPHABET) for _ in range(10))

    def phone(self) -> str:
        while True:
            phone = "1" + self.rng.choice("3456789") + f"{self.rng.randrange(10 ** 9):09d}"
            if phone not in self._phones:
                self._phones.add(phone)
                return phone

    def nickname(self) -> str:
        rng = self.rng
        style = rng.random()
        if style < 0.15:
            return rng.choice(LATIN) + rng.choice(["", "", "_", "🌸", "酱"]) + (str(rng.randrange(100)) if rng.random() < 0.3 else "")
        if style < 0.35:
            return "小" + rng.choice(GIVEN)
        if style < 0.75:
            return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        return rng.choice(GIVEN) + rng.choice(GIVEN)

    def profile(self, person: Person, complete: bool) -> dict:
        """Profile fields a member fills in: all four that complete a profile, or some of them."""
        rng = self.rng
        age = min(70, max(18, int(rng.gauss(33, 9))))
        year = person.created_at.year - age
        birthday = date(year, 1, 1) + timedelta(days=rng.randrange(365))
        fields = {"nickname": self.nickname(), "gender": rng.choices((1, 2, 0), weights=(42, 52, 6))[0],
                  "region": rng.choices(self._cities, weights=self._city_weights)[0]}
        if complete:
            fields["birthday"] = birthday
            fields["avatar_url"] = ("https://thirdwx.qlogo.cn/mmopen/vi_32/"
                                    + "".join(rng.choice(_CODE_ALPHABET) for _ in range(40)) + "/132")
            if rng.random() < 0.15:
                fields.update(zip(("company", "industry", "company_size", "job_role"), rng.choice(COMPANIES)))
        elif rng.random() < 0.4:
            fields["birthday"] = birthday
        return fields

    def basket_cents(self, person: Person) -> int:
        """What a purchase comes to, in fen: log-normal around the member's usual basket."""
        yuan = person.basket_yuan * math.exp(self.rng.gauss(0, 0.6))
        return max(990, int(yuan * 10) * 10)
