"""A large demo programme: thousands of members with a year of activity, to check the operators'
figures against the ledger and to benchmark them (`flask --app wsgi seed-year`).

The small demo (`app.demo`) is seeded first, through the services: programme, rules, levels, tasks,
mall, stores, staff. The programme expires points after `expiry_days` days, so some of the year's
points expire within it. Then the year is generated in memory (`app.demo_year.year`), member by
member and day by day in time order, by the same rules the services apply, and written with COPY in
one transaction (`app.demo_year.load`): rows shaped as the services write them, so that the ledger
verifier is clean and every figure derived from the ledger agrees with it. Seeded: one seed, one
programme (relative to the day it runs). It refuses a database that already holds members.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import func, select

from app import clock
from app.demo_year.load import largest_ids
from app.demo_year.shop import Stock
from app.demo_year.year import Year
from app.extensions import db
from app.members.models import Member

EXPIRY_DAYS = 180
STREAM_DAYS = 7  # how often settled rows go to the loader while the year is simulated

# Tables written while the simulation goes on (rows no later day changes), in foreign-key order,
# with the list of the simulation's that holds their rows; and the tables written at the end.
SETTLED = {"members": None, "invite_codes": "invite_codes", "ledger_operations": "operations",
           "ledger_entries": "entries", "entry_reversals": "reversals", "earning_events": "events",
           "rule_awards": "awards", "checkins": "checkins", "task_claims": "claims", "level_changes": "changes",
           "level_notices": "notices", "staff_actions": "staff_actions", "touchpoints": "touchpoints"}
AT_THE_END = ("point_accounts", "points_lots", "lot_allocations", "member_levels", "mall_orders",
              "mall_order_transitions", "invitations")

# What the year's mall sells beyond the demo's items (data: operators would add them in the console).
YEAR_ITEMS = [
    {"sku": "UMBRELLA-01", "kind": "pickup", "category": "家居", "title": "品牌晴雨伞", "points_price": 1500,
     "stores": ["SH-JA", "HZ-XH"], "limit_per_member": 1, "status": "on_sale", "per_member": 1 / 8},
    {"sku": "NOTEBOOK-01", "kind": "delivery", "category": "周边", "title": "定制笔记本(包邮)", "points_price": 600,
     "status": "on_sale", "per_member": 1 / 5},
    {"sku": "VOUCHER-50", "kind": "voucher", "category": "券", "title": "50 元门店抵扣券", "points_price": 4500,
     "voucher_value_cents": 5000, "limit_per_day": 1, "status": "on_sale", "per_member": 1 / 10},
    {"sku": "TEA-10", "kind": "coupon", "category": "券", "title": "10 元奶茶券", "points_price": 800,
     "status": "on_sale", "per_member": 1 / 3},
]
# Stock for the year (per member) and how often each item is picked among those a member can have.
RESTOCK = {"CUP-01": 1 / 4, "COFFEE-5": 1 / 2, "BAG-01": 1 / 6, "VOUCHER-10": 1.0, "SPEAKER-01": 1 / 100,
           "GOLD-GIFT": 1 / 40}
WEIGHTS = {"COFFEE-5": 3.0, "VOUCHER-10": 4.0, "CUP-01": 2.0, "BAG-01": 1.2, "SPEAKER-01": 0.3, "GOLD-GIFT": 1.0,
           "UMBRELLA-01": 1.0, "NOTEBOOK-01": 1.5, "VOUCHER-50": 1.2, "TEA-10": 2.5}
CHANNELS = [("store", "静安旗舰店收银台", 3.0), ("clerk", "西湖店店员小李", 1.5), ("event", "春季会员市集", 1.0),
            ("advert", "朋友圈广告", 2.5)]


class PopulatedDatabase(Exception):
    """The database already holds members: the year would mix with them."""


@dataclass
class Summary:
    members: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    simulated_seconds: float = 0.0
    loaded_seconds: float = 0.0
    expired_points: int = 0

    @property
    def seconds(self) -> float:
        return self.simulated_seconds + self.loaded_seconds

    def lines(self) -> list[str]:
        r = self.rows
        return [f"members: {self.members}", f"ledger entries: {r.get('ledger_entries', 0)} "
                f"(operations {r.get('ledger_operations', 0)}), lots: {r.get('points_lots', 0)}, "
                f"expired points: {self.expired_points}",
                f"earning events: {r.get('earning_events', 0)}, check-ins: {r.get('checkins', 0)}, "
                f"orders: {r.get('mall_orders', 0)}, invitations: {r.get('invitations', 0)}",
                f"elapsed: {self.seconds:.1f} s (simulated in {self.simulated_seconds:.1f} s, "
                f"loaded in {self.loaded_seconds:.1f} s)"]


class DemoYear:
    """`prepare()`, then `simulate()` and `load()` (generators, for progress), then `summary`."""

    def __init__(self, members: int = 10_000, days: int = 365, seed: int = 42, expiry_days: int = EXPIRY_DAYS) -> None:
        if members < 1 or days < 1:
            raise ValueError("members and days must be positive")
        self.members, self.days, self.seed, self.expiry_days = members, days, seed, expiry_days
        self.summary = Summary()
        self.year: Year | None = None
        self._loader = None
        self._members_sent = 0

    def prepare(self) -> list[str]:
        """Refuse a database with members; seed the small demo and the year's programme, mall and channels."""
        count = db.session.scalar(select(func.count()).select_from(Member))
        if count:
            db.session.rollback()
            raise PopulatedDatabase(f"the database already holds {count} members: seed-year fills an empty "
                                    "programme only (create a fresh database, run `flask db upgrade`, then seed-year)")
        from app.demo import seed as seed_demo
        from app.programme import service as programme
        from config.jobs import MEMBER_DAY
        from config.programme import PROGRAMME

        programme.ensure_programme(**PROGRAMME, **MEMBER_DAY)
        db.session.commit()
        programme.update({"expiry_policy": "days", "expiry_days": self.expiry_days})
        lines = list(seed_demo())
        lines.append(f"points expire {self.expiry_days} days after they are earned (programme setting)")
        now = clock.now()
        first_day = clock.business_date(now) - timedelta(days=self.days)
        stock, clerks, stores = self._mall(now)
        lines.append(f"mall: {len(stock)} items stocked for the year")
        channels = self._channels(first_day)
        self._member_days(first_day, clock.business_date(now))
        integration = self._integration()
        self.year = self._year(now, stock, clerks, stores, channels, integration)
        return lines

    def _mall(self, now) -> tuple[list[Stock], dict[int, int], list[int]]:
        from app.staff.models import Staff, StaffStore, Store
        from mall.items import save
        from mall.models import CouponCode, Item, ItemStore

        stores = {code: store_id for code, store_id in db.session.execute(select(Store.code, Store.id))}
        items = {item.sku: item for item in db.session.scalars(select(Item))}
        for spec in YEAR_ITEMS:
            if spec["sku"] not in items:
                fields = {k: v for k, v in spec.items() if k not in ("stores", "per_member")}
                fields["total_stock"] = max(10, int(self.members * spec["per_member"]))
                if spec["kind"] == "coupon":
                    fields["coupon_codes"] = [f"{spec['sku']}-Y{n:06d}" for n in range(fields["total_stock"])]
                if "stores" in spec:
                    fields["store_ids"] = [stores[c] for c in spec["stores"]]
                save(fields)
        for sku, per_member in RESTOCK.items():
            item = items.get(sku)
            wanted = max(item.total_stock, int(self.members * per_member)) if item else 0
            if item is None or wanted == item.total_stock:
                continue
            fields = {"total_stock": wanted}
            if item.kind == "coupon":
                fields["coupon_codes"] = [f"{sku}-Y{n:06d}" for n in range(wanted - item.total_stock)]
            save(fields, item.id)
        held = {}
        for item_id, store_id in db.session.execute(select(ItemStore.item_id, ItemStore.store_id)):
            held.setdefault(item_id, []).append(store_id)
        codes = {}
        for code_id, item_id in db.session.execute(select(CouponCode.id, CouponCode.item_id)
                                                   .where(CouponCode.order_id.is_(None)).order_by(CouponCode.id)):
            codes.setdefault(item_id, []).append(code_id)
        stock = [Stock(_plain(item), codes.get(item.id, []),
                       sorted(held.get(item.id, [])), WEIGHTS.get(item.sku, 1.0))
                 for item in db.session.scalars(select(Item).order_by(Item.id))]
        clerks = {}
        for store_id, staff_id in db.session.execute(
                select(StaffStore.store_id, Staff.id).join(Staff, Staff.id == StaffStore.staff_id)
                .where(Staff.active.is_(True)).order_by(Staff.id)):
            clerks.setdefault(store_id, staff_id)
        db.session.rollback()
        return stock, clerks, sorted(clerks)

    def _channels(self, first_day: date) -> list[tuple]:
        import random

        from posters.models import ChannelCode

        from app.demo_year.people import Population

        codes = Population(random.Random(self.seed + 1))
        at = clock.local_midnight(first_day) - timedelta(days=3)
        rows = []
        for kind, name, weight in CHANNELS:
            channel = ChannelCode(code=codes.code("c"), kind=kind, name=name, active=True, created_at=at)
            db.session.add(channel)
            db.session.flush()
            rows.append((channel.id, channel.code, kind, weight))
        db.session.commit()
        return rows

    def _member_days(self, first_day: date, today: date) -> None:
        """The member-day campaigns the daily job made for each month of the year (and next month),
        dated when that job would have made them (the first day of the month before)."""
        from app.earning.models import Campaign
        from tasks.campaigns import ensure_member_day_campaign, member_day_of

        month = first_day.replace(day=1)
        last = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        while month <= last:
            made = clock.local_midnight(max((month - timedelta(days=1)).replace(day=1), first_day)) + timedelta(minutes=5)
            for campaign_id in ensure_member_day_campaign(member_day_of(month)):
                db.session.get(Campaign, campaign_id).created_at = made
            db.session.commit()
            month = (month + timedelta(days=32)).replace(day=1)

    def _integration(self) -> str:
        from app.earning import integrations
        from app.earning.models import Integration

        key = db.session.scalar(select(Integration.key_id).where(Integration.active.is_(True)).order_by(Integration.id))
        if key is None:
            key = integrations.create("品牌官方商城", note="seed-year: the online shop reporting purchases")[0].key_id
        return key

    def _year(self, now, stock, clerks, stores, channels, integration) -> Year:
        from app.checkin.service import settings as checkin_settings
        from app.earning import engine
        from app.levels import service as levels
        from app.programme import service as programme
        from app.taskcenter.models import TaskDefinition
        from config.earning import EVENT_TYPES
        from config.programme import REFERRAL

        tasks = {task.code: _plain(task)
                 for task in db.session.scalars(select(TaskDefinition).where(TaskDefinition.active.is_(True)))}
        rules = {event_type: [_plain(rule) for rule in engine.rules_for(event_type)] for event_type in EVENT_TYPES}
        settings = current_app.config["SETTINGS"]
        year = Year(members=self.members, days=self.days, seed=self.seed, now=now,
                    appid=settings.effective_wechat_appid, start_ids=largest_ids(), programme=programme.current(),
                    rules=rules, tasks=tasks, levels=[_plain(level) for level in levels.definitions()],
                    checkin=_plain(checkin_settings()),
                    stock=stock, clerks=clerks, stores=stores, channels=channels, integration_key=integration,
                    referral=REFERRAL, payment_timeout=timedelta(minutes=settings.payment_timeout_minutes))
        db.session.rollback()
        return year

    @property
    def load_steps(self) -> int:
        return len(SETTLED) + len(AT_THE_END) + 3

    def simulate(self) -> Iterator[date]:
        """Generate the year, yielding each business day when done (`days + 1` of them: today too);
        every `STREAM_DAYS` days what no later day changes goes to the loader."""
        from app.demo_year.load import Loader

        started = time.perf_counter()
        self._loader = Loader()
        try:
            for index, day in enumerate(self.year.run()):
                if index % STREAM_DAYS == STREAM_DAYS - 1:
                    self._loader.send(self._settled(day))
                yield day
        except BaseException:
            self._loader.abort()
            raise
        self.summary.simulated_seconds = time.perf_counter() - started
        self.summary.members = len(self.year.people)
        self.summary.expired_points = sum(p.account.expired for p in self.year.people.values())

    def _settled(self, day: date | None) -> list[tuple[str, list]]:
        """Rows no later day changes (all of them when `day` is None), taken out of the year's lists,
        tables in foreign-key order: members as they are now (their final state comes at the end)."""
        year, appid = self.year, self._appid()
        people = list(itertools.islice(year.people.values(), self._members_sent, None))
        self._members_sent += len(people)
        if day is None:
            checkins, year.checkins = year.checkins, []
        else:
            checkins = [row for row in year.checkins if row[2] < day]  # a make-up changes yesterday's run at most
            year.checkins = [row for row in year.checkins if row[2] >= day]
        owners = {"invite_codes": year, "ledger_operations": year.books, "ledger_entries": year.books,
                  "entry_reversals": year.books, "earning_events": year.earning, "rule_awards": year.earning,
                  "task_claims": year, "level_changes": year.ladder, "level_notices": year.ladder,
                  "staff_actions": year.shop, "touchpoints": year}
        chunks = [("members", [person.row(appid) for person in people])]
        for table in list(SETTLED)[1:]:
            if table == "checkins":
                chunks.append((table, checkins))
                continue
            owner, attribute = owners[table], SETTLED[table]
            chunks.append((table, getattr(owner, attribute)))
            setattr(owner, attribute, [])
        return chunks

    def _appid(self) -> str:
        return current_app.config["SETTINGS"].effective_wechat_appid

    def load(self) -> Iterator[tuple[str, int]]:
        """Write what is left of the year (yielding each table and its row count), commit, and let
        the caches see it."""
        from app import snapshots

        started = time.perf_counter()
        year = self.year
        people = list(year.people.values())
        chunks = self._settled(None) + [
            ("point_accounts", [p.account.row() for p in people]),
            ("points_lots", (lot.row() for lot in year.books.lots)),
            ("lot_allocations", year.books.allocations),
            ("member_levels", [(p.id, p.level_code, p.level_reached_at, p.level_expires_at)
                               for p in people if p.level_code is not None]),
            ("mall_orders", [order.row() for order in year.shop.orders]),
            ("mall_order_transitions", year.shop.transitions),
            ("invitations", year.invitations),
        ]
        appid = self._appid()
        for table, count in self._loader.finish(chunks, members=[p.row(appid) for p in people],
                                                coupon_codes=year.shop.coupon_codes, stock_taken=year.shop.sold(),
                                                budgets=year.earning.budget_used):
            self.summary.rows[table] = count
            yield table, count
        snapshots.invalidate()
        self.summary.loaded_seconds = time.perf_counter() - started


def _plain(row) -> SimpleNamespace:
    """A model row's columns as plain attributes: read millions of times, without the ORM's instrumentation."""
    return SimpleNamespace(**{column.name: getattr(row, column.key) for column in row.__table__.columns})


def seed_year(members: int = 10_000, days: int = 365, seed: int = 42, expiry_days: int = EXPIRY_DAYS) -> Summary:
    """The whole run without progress: prepare, simulate, load."""
    demo = DemoYear(members, days, seed, expiry_days)
    demo.prepare()
    for _ in demo.simulate():
        pass
    for _ in demo.load():
        pass
    return demo.summary
