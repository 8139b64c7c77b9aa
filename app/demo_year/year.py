"""The demo year itself: every member's days, and the programme's nightly jobs, in time order.

One queue of timed steps for the whole programme, so ids grow with time across members as they do
in production and members touch each other's accounts (an invitee qualifying pays the inviter) in
the right order. Each business day (programme time zone): 00:10 the points job (release due holds,
then expire due lots), 00:20 the level-expiry job, 09:00 birthday gifts, 11:00 level-expiry notices;
members registering (some through an inviter's poster or a channel code), visiting (check-in, tasks,
browsing, sharing, profile, phone, the invite poster, the mall) and buying in stores or online (some
of it refunded). Nothing happens after `now`.
"""
from __future__ import annotations

import heapq
import itertools
import random
from bisect import bisect
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from app import clock
from app.checkin.service import event_id as checkin_event, reward_for
from app.demo_year.books import Books
from app.demo_year.earning import Earning, Ladder, Purchase, job_day
from app.demo_year.people import Person, Population
from app.demo_year.shop import Shop
from app.points.posting import fingerprint
from app.wechat.sandbox import sandbox_openid
from mall.counter import masked_name

HOURS = [1, 0.5, 0.2, 0.1, 0.1, 0.3, 1, 3, 5, 5, 4, 5, 7, 5, 4, 4, 4, 5, 6, 7, 8, 8, 6, 3]  # visits by hour
STORE_HOURS = [0] * 10 + [4, 5, 6, 5, 4, 4, 5, 6, 7, 7, 5, 2, 0, 0]
BATCH = 1000  # members per batch of the nightly points job, as `maintenance` runs it
REFERRAL_SHARE, CHANNEL_SHARE = 0.22, 0.16


class Year:
    def __init__(self, *, members: int, days: int, seed: int, now: datetime, appid: str, start_ids: dict[str, int],
                 programme, rules: dict, tasks: list, levels: list, checkin, stock: list, clerks: dict[int, int],
                 stores: list[int], channels: list, integration_key: str, referral: dict,
                 payment_timeout: timedelta) -> None:
        self.rng = random.Random(seed)
        self.seed, self.members, self.days, self.now, self.appid = seed, members, days, now, appid
        self.first_day = clock.business_date(now) - timedelta(days=days)
        self.programme, self.tasks, self.checkin, self.referral = programme, tasks, checkin, referral
        self.stores, self.channels, self.integration_key = stores, channels, integration_key
        self.population = Population(self.rng)
        self.people: dict[int, Person] = {}
        self.books = Books(start_ids, programme.lot_expiry, lambda at: job_day(at, 10), self._growth)
        self.ladder = Ladder(levels, programme.downgrade_on_growth_reversal, start_ids)
        self.earning = Earning(self.books, self.ladder, rules, start_ids)
        self.shop = Shop(self.rng, self.books, self.ladder, stock, clerks, start_ids, payment_timeout)
        self._member_ids = itertools.count(start_ids["members"] + 1)
        self._checkin_ids = itertools.count(start_ids["checkins"] + 1)
        self._claim_ids = itertools.count(start_ids["task_claims"] + 1)
        self._invitation_ids = itertools.count(start_ids["invitations"] + 1)
        self._touchpoint_ids = itertools.count(start_ids["touchpoints"] + 1)
        self._seq = itertools.count()
        self._queue: list = []
        self.at = clock.local_midnight(self.first_day)
        self.checkins: list[list] = []
        self.claims: list[list] = []
        self.invite_codes: list[tuple] = []
        self.invitations: list[list] = []
        self.touchpoints: list[tuple] = []
        self.birthdays: dict[tuple[int, int], list[int]] = {}
        self._inviters: list[Person] = []
        self._influence: list[float] = []
        self._receipts = itertools.count(1)

    # ---- the queue

    def _at(self, when: datetime, step) -> None:
        """Run `step` (a generator: each value it yields is seconds until its next action) at `when`."""
        if when <= self.now:
            heapq.heappush(self._queue, (when, next(self._seq), step))

    def _run_until(self, until: datetime) -> None:
        queue = self._queue
        while queue and queue[0][0] < until:
            when, _, step = heapq.heappop(queue)
            self.at = when
            try:
                pause = next(step)
            except StopIteration:
                continue
            self._at(when + timedelta(seconds=pause), step)

    def run(self) -> Iterator[date]:
        """Simulate day by day, yielding each business day once done."""
        day_of_month = self.programme.member_day_of_month if self.programme.member_day_enabled else None
        member_days = {d for d in range(self.days + 1) if (self.first_day + timedelta(days=d)).day == day_of_month}
        registrations = self.population.registration_days(self.members, self.days + 1, member_days)
        by_day: dict[int, int] = {}
        for index in registrations:
            by_day[index] = by_day.get(index, 0) + 1
        for index in range(self.days + 1):
            day = self.first_day + timedelta(days=index)
            midnight = clock.local_midnight(day)
            self._plan_day(day, midnight, index in member_days)
            for _ in range(by_day.get(index, 0)):
                self._at(self._time_of_day(midnight, HOURS), self._register())
            if self.channels:
                self._plan_scans(midnight, by_day.get(index, 0))
            self._at(midnight + timedelta(minutes=10), self._points_job(day))
            self._at(midnight + timedelta(minutes=20), self._level_job(day))
            self._at(midnight + timedelta(hours=9), self._birthdays(day))
            self._at(midnight + timedelta(hours=11), self._level_notices(day))
            self._run_until(min(clock.local_midnight(day + timedelta(days=1)), self.now + timedelta(microseconds=1)))
            yield day

    def _time_of_day(self, midnight: datetime, hours: list[float]) -> datetime:
        for _ in range(20):
            hour = self.rng.choices(range(24), weights=hours)[0]
            when = midnight + timedelta(hours=hour, seconds=self.rng.randrange(3600))
            if when <= self.now:
                return when
        return midnight + (self.now - midnight) * self.rng.random()

    def _plan_day(self, day: date, midnight: datetime, member_day: bool) -> None:
        rng = self.rng
        for person in self.people.values():
            if rng.random() < person.visit_probability(day, member_day):
                self._at(self._time_of_day(midnight, HOURS), self._visit(person))
            if person.buy_every:
                rate = (1 / person.buy_every) * (0.15 if person.dormant_on and day >= person.dormant_on else 1.0)
                if rng.random() < rate * (1.5 if member_day else 1.0):
                    in_store = person.store and (not person.online or rng.random() < 0.55)
                    when = self._time_of_day(midnight, STORE_HOURS if in_store else HOURS)
                    self._at(when, self._purchase(person, in_store))

    def _growth(self, account, growth: int, delta: int, reason_code: str, at: datetime) -> None:
        self.ladder.on_growth(self.people[account.member_id], growth, delta, reason_code, at)

    def _event(self, person: Person, event_type: str, event_id: str, attributes: dict | None = None,
               **kwargs) -> tuple[int, str, int, int]:
        return self.earning.process(person, event_type, event_id, self.at, attributes or {}, **kwargs)

    # ---- members

    def _register(self):
        """`members.service.login` for a new member, then the register reward and the referral binding.
        A member coming through a poster or a channel scanned its code a few minutes before."""
        rng = self.rng
        inviter = channel = scene = None
        roll = rng.random()
        if roll < REFERRAL_SHARE and self._inviters:
            inviter = self._inviters[bisect(self._influence, rng.random() * self._influence[-1])]
            scene = inviter.invite_code
        elif roll < REFERRAL_SHARE + CHANNEL_SHARE and self.channels:
            channel = rng.choices(self.channels, weights=[c[3] for c in self.channels])[0]
            scene = channel[1]
        if scene:
            self._visitor_scan(inviter, channel)
            yield rng.randrange(20, 300)
        at = self.at
        number = next(self._member_ids)
        name = f"year{number}"
        person = Person(number, name, sandbox_openid(self.appid, name), at)
        person.session_key = self.population.openid_secret()
        person.register_scene = scene
        self.population.habits(person, clock.business_date(at))
        self.people[number] = person
        self._event(person, "register", f"register:{person.id}")
        if scene:
            self._bind(person, inviter, channel)
        if channel is not None and channel[2] == "store":
            if person.buy_every is None and rng.random() < 0.5:
                person.buy_every, person.store = 60.0, True
            if rng.random() < 0.6:
                self._at(at + timedelta(minutes=rng.randrange(2, 15)), self._purchase(person, True))
        yield rng.randrange(10, 60)
        yield from self._visit(person, first=True)

    def _visitor_scan(self, inviter: Person | None, channel) -> None:
        """`referrals.record_scan` by someone not (yet) a member: kept for the funnel."""
        self.touchpoints.append((next(self._touchpoint_ids), None, f"v_{self.rng.getrandbits(64):016x}",
                                 "poster_scan" if inviter else "channel_code", inviter.id if inviter else None,
                                 channel[0] if channel else None, None, self.at))

    def _scans(self, inviter: Person | None, channel):
        self._visitor_scan(inviter, channel)
        yield from ()

    def _plan_scans(self, midnight: datetime, registrations: int) -> None:
        """Posters and channel codes scanned by visitors who do not register (about as many again)."""
        rng = self.rng
        for _ in range(int(registrations * REFERRAL_SHARE * 1.5 + rng.random())):
            if self._inviters:
                inviter = self._inviters[bisect(self._influence, rng.random() * self._influence[-1])]
                self._at(self._time_of_day(midnight, HOURS), self._scans(inviter, None))
        for _ in range(int(registrations * CHANNEL_SHARE * 2.5 + rng.random())):
            channel = rng.choices(self.channels, weights=[c[3] for c in self.channels])[0]
            self._at(self._time_of_day(midnight, HOURS), self._scans(None, channel))

    def _bind(self, person: Person, inviter: Person | None, channel) -> None:
        """`referrals.bind`: the touchpoint and the invitation, once, at registration."""
        at = self.at
        self.touchpoints.append((next(self._touchpoint_ids), person.id, None,
                                 "poster_scan" if inviter else "channel_code", inviter.id if inviter else None,
                                 channel[0] if channel else None, None, at))
        person.invitation = [next(self._invitation_ids), person.id, inviter.id if inviter else None,
                             channel[0] if channel else None, person.register_scene, "registered", 0, 0, at, None]
        self.invitations.append(person.invitation)

    def _qualify(self, person: Person) -> None:
        """`referrals.qualify`: the invitee did the real thing; both sides rewarded once."""
        invitation = person.invitation
        if invitation is None or invitation[5] != "registered":
            return
        invitation[5], invitation[9] = "qualified", self.at
        if invitation[2] is not None:
            inviter = self.people[invitation[2]]
            _, _, inviter_points, _ = self._event(inviter, "invite_qualified", f"invitation:{invitation[0]}:inviter",
                                                  {"points": self.referral["inviter_points"], "invitee": person.id})
            _, _, invitee_points, _ = self._event(person, "invited_bonus", f"invitation:{invitation[0]}:invitee",
                                                  {"points": self.referral["invitee_points"], "inviter": inviter.id})
            invitation[6], invitation[7] = inviter_points, invitee_points
            if inviter_points or invitee_points:
                invitation[5] = "rewarded"

    def _visit(self, person: Person, first: bool = False):
        """A member opens the mini-program: each action a little after the one before."""
        rng = self.rng
        person.last_login_at = self.at
        if not first:
            person.visits += 1
        if person.profile_plan != "none" and (first and rng.random() < 0.6 or person.visits == 1):
            self._profile(person)
            yield rng.randrange(20, 120)
        if person.phone_plan is not None and person.phone is None and person.visits >= person.phone_plan:
            self._bind_phone(person)
            yield rng.randrange(10, 90)
        if rng.random() < (0.75 if first else person.checkin_p):
            self._check_in(person)
            yield rng.randrange(5, 40)
            if rng.random() < {"heavy": 0.4, "regular": 0.2}.get(person.persona, 0.1):
                self._claim(person, "daily-checkin")
                yield rng.randrange(5, 60)
            if rng.random() < {"heavy": 0.12, "regular": 0.06}.get(person.persona, 0.02):
                self._make_up(person)
                yield rng.randrange(5, 60)
        if rng.random() < 0.15:
            targets = rng.sample(range(1, 400), rng.choice((1, 1, 2, 3, 3, 4, 6)))
            for target in targets:
                self._event(person, "browse", f"browse:{person.id}:article-{target}:{clock.business_date(self.at)}",
                            {"target": f"article-{target}"}, source="client")
                yield rng.randrange(20, 240)
            if len(targets) >= 3 and rng.random() < 0.5:
                self._claim(person, "daily-browse")
                yield rng.randrange(5, 60)
        if rng.random() < (0.25 if person.sharer else 0.04):
            target = f"item-{rng.randrange(1, 60)}"
            self._event(person, "share", f"share:{person.id}:{target}:{clock.business_date(self.at)}",
                        {"target": target}, source="client")
            yield rng.randrange(5, 60)
            if rng.random() < 0.4:
                self._claim(person, "daily-share")
                yield rng.randrange(5, 60)
        for code in ("complete-profile", "bind-phone", "first-purchase", "first-invite"):
            if rng.random() < 0.5 and self._claim(person, code):
                yield rng.randrange(5, 60)
        if person.sharer and person.invite_code is None and rng.random() < 0.3:
            self._open_poster(person)
            yield rng.randrange(10, 120)
        if person.redeems and rng.random() < {"heavy": 0.07, "regular": 0.08}.get(person.persona, 0.12):
            order = self.shop.redeem(person, self.at)
            if order is not None:
                self._follow_order(person, order)

    def _profile(self, person: Person) -> None:
        """`members.service.update_profile`; a complete profile earns its reward once."""
        fields = self.population.profile(person, person.profile_plan == "complete")
        if person.birthday is not None:
            fields.pop("birthday", None)  # fixed once set
        for name, value in fields.items():
            setattr(person, name, value)
        person.updated_at = self.at
        if "birthday" in fields:
            self.birthdays.setdefault((person.birthday.month, person.birthday.day), []).append(person.id)
        if person.nickname and person.avatar_url and person.birthday and person.region:
            self._event(person, "profile_completed", f"profile_completed:{person.id}")
        person.profile_plan = "none"

    def _bind_phone(self, person: Person) -> None:
        person.phone, person.phone_bound_at = self.population.phone(), self.at
        person.updated_at = self.at
        self._event(person, "phone_bound", f"phone_bound:{person.id}")
        if self.programme.referral_qualify_on == "phone":
            self._qualify(person)

    def _open_poster(self, person: Person) -> None:
        """`referrals.invite_code`: made the first time the member opens their poster."""
        person.invite_code = self.population.code("i")
        self.invite_codes.append((person.id, person.invite_code, self.at))
        self._inviters.append(person)
        self._influence.append((self._influence[-1] if self._influence else 0.0) + person.influence)

    # ---- check-in and tasks

    def _check_in(self, person: Person) -> None:
        """`checkin.service.check_in`: today's row and streak, its event, the month's bonus."""
        day = clock.business_date(self.at)
        if day in person.checkins:
            return
        yesterday = person.checkins.get(day - timedelta(days=1))
        row = [next(self._checkin_ids), person.id, day, False, yesterday[4] + 1 if yesterday else 1, self.at]
        person.checkins[day] = row
        person.month_days[(day.year, day.month)] = person.month_days.get((day.year, day.month), 0) + 1
        self.checkins.append(row)
        self._event(person, "checkin", checkin_event(person.id, day),
                    {"points": reward_for(row[4], self.checkin.cycle_rewards), "streak": row[4]})
        self._monthly_bonus(person, day)

    def _monthly_bonus(self, person: Person, day: date) -> None:
        count = person.month_days.get((day.year, day.month), 0)
        reward = int((self.checkin.monthly_rewards or {}).get(str(count), 0))
        if reward:
            self._event(person, "checkin_monthly", f"checkin-monthly:{person.id}:{day:%Y-%m}:{count}",
                        {"points": reward, "days": count})

    def _make_up(self, person: Person) -> None:
        """`checkin.service.make_up` of yesterday when it was missed (same month, within the month's allowance)."""
        today = clock.business_date(self.at)
        day = today - timedelta(days=1)
        month = (today.year, today.month)
        cfg = self.checkin
        if (day.year, day.month) != month or day in person.checkins or day < clock.business_date(person.created_at):
            return
        if person.makeups.get(month, 0) >= cfg.makeups_per_month:
            return
        row_id = next(self._checkin_ids)
        if cfg.makeup_cost_points and self.books.spend(
                person.account, cfg.makeup_cost_points, key=f"makeup:{person.id}:{day.isoformat()}",
                reason_code="checkin_makeup", reason=f"补签 {day.isoformat()}", source_type="checkin",
                source_id=str(row_id), at=self.at) is None:
            return
        person.makeups[month] = person.makeups.get(month, 0) + 1
        row = [row_id, person.id, day, True, 1, self.at]
        person.checkins[day] = row
        person.month_days[month] = person.month_days.get(month, 0) + 1
        self.checkins.append(row)
        previous = person.checkins.get(day - timedelta(days=1))
        streak, cursor = (previous[4] if previous else 0) + 1, day
        while cursor in person.checkins:
            person.checkins[cursor][4] = streak + (cursor - day).days
            cursor += timedelta(days=1)
        self._event(person, "checkin", checkin_event(person.id, day),
                    {"points": reward_for(1, cfg.cycle_rewards), "streak": streak, "made_up": True},
                    occurred_at=clock.local_midnight(day) + timedelta(hours=12))
        self._monthly_bonus(person, today)

    def _claim(self, person: Person, code: str) -> bool:
        """`taskcenter.service.claim`: a completed task's reward, once per period."""
        task = self.tasks.get(code)
        if task is None:
            return False
        today = clock.business_date(self.at)
        if task.kind == "once":
            period = "once"
        elif task.kind == "daily":
            period = today.isoformat()
        else:
            week = (today - timedelta(days=today.weekday())).isocalendar()
            period = f"{week.year}-W{week.week:02d}"
        if (task.id, period) in person.claims or person.progress(task.event_type, task.kind, today) < task.target:
            return False
        person.claims.add((task.id, period))
        row = [next(self._claim_ids), task.id, person.id, period, 0, 0, self.at]
        self.claims.append(row)
        _, _, row[4], row[5] = self._event(person, "task_reward", f"task:{task.code}:{person.id}:{period}",
                                           {"points": task.reward_points, "growth": task.reward_growth,
                                            "task": task.code})
        return True

    # ---- purchases and refunds

    def _purchase(self, person: Person, in_store: bool):
        """A purchase reported by a store's counter or by the brand's online shop, maybe refunded later."""
        rng, at = self.rng, self.at
        cents = self.population.basket_cents(person)
        if in_store:
            store_id = self.stores[person.id % len(self.stores)]
            receipt = f"{at:%Y%m%d}{store_id:02d}{next(self._receipts):06d}"
            attributes = {"amount_cents": cents, "order_id": receipt}
            purchase = Purchase(cents)
            person.purchases[receipt] = purchase
            _, status, points, growth = self._event(person, "purchase", f"store:{store_id}:{receipt}", attributes,
                                                    source=f"store:{store_id}", purchase=purchase)
            staff_id = self.shop.clerks[store_id]
            key = f"{rng.getrandbits(128):032x}"
            self.shop.staff_action(staff_id, store_id, "points_award", at, member_id=person.id, key=key,
                                   print_=fingerprint("store-award", staff_id, store=store_id, amount=cents,
                                                      receipt=receipt),
                                   detail={"member": masked_name(person), "points": points, "growth": growth,
                                           "status": status, "duplicate": False})
            order_ref = receipt
        else:
            order_ref = f"EC{at:%Y%m%d}{next(self._receipts):07d}"
            purchase = Purchase(cents)
            person.purchases[order_ref] = purchase
            self._event(person, "purchase", f"ec:{order_ref}", {"amount_cents": cents, "order_id": order_ref},
                        source=f"integration:{self.integration_key}",
                        occurred_at=at - timedelta(seconds=rng.randrange(2, 90)), purchase=purchase)
        if self.programme.referral_qualify_on == "first_purchase" and person.invitation is not None:
            yield rng.randrange(1, 16)  # the outbox runs the qualification after the purchase commits
            self._qualify(person)
        if rng.random() < 0.045:
            full = rng.random() < 0.7
            days = rng.uniform(0.5, 6) if full else rng.uniform(2, 20)
            refund = cents if full else max(100, cents // 2 // 100 * 100)
            yield int(days * 86400)
            self._event(person, "refund", f"ec-refund:{order_ref}:1", {"amount_cents": refund, "order_id": order_ref},
                        source=f"integration:{self.integration_key}",
                        occurred_at=self.at - timedelta(seconds=rng.randrange(2, 90)))

    # ---- mall orders after they are placed

    def _follow_order(self, person: Person, order) -> None:
        rng, at = self.rng, self.at
        if order.status == "awaiting_payment":
            if rng.random() < 0.85:
                self._at(at + timedelta(seconds=rng.randrange(20, 400)), self._then(self.shop.pay, order))
                self._at(at + timedelta(days=rng.uniform(0.5, 12)), self._pick_up(order))
            else:
                self._at(order.pay_expires_at + timedelta(seconds=rng.randrange(1, 60)),
                         self._then(self.shop.cancel, person, order, "system", "支付超时"))
        elif order.status == "awaiting_pickup":
            roll = rng.random()
            if roll < 0.82:
                self._at(at + timedelta(days=rng.uniform(0.1, 14)), self._pick_up(order))
            elif roll < 0.9:
                self._at(at + timedelta(days=rng.uniform(0.05, 5)),
                         self._then(self.shop.cancel, person, order, "member", "会员取消"))

    def _pick_up(self, order):
        """At the counter: the code looked up, then (a few seconds later) the item handed over."""
        clerk = self.shop.preview(order, self.at)
        if clerk is not None:
            yield self.rng.randrange(5, 40)
            self.shop.confirm(order, *clerk, self.at)

    def _then(self, action, *args):
        action(*args, self.at)
        yield from ()

    # ---- the programme's jobs

    def _points_job(self, day: date):
        """`run_points_maintenance`: release due holds, then expire due lots, in batches of members."""
        for due, job in ((self.books.due_release, self.books.release_due),
                         (self.books.due_expiry, self.books.expire_due)):
            members = sorted(due.pop(day, set()))
            for start in range(0, len(members), BATCH):
                job([self.people[m].account for m in members[start:start + BATCH]], self.at,
                    f"{self.rng.getrandbits(128):032x}")
                yield 0.35

    def _level_job(self, day: date):
        for member_id in sorted(self.ladder.due_expiry.pop(day, set())):
            self.ladder.expire(self.people[member_id], self.books, self.at)
        yield from ()

    def _birthdays(self, day: date):
        """`run_birthdays`: the level's birthday points, once a year (29 February counts on the 28th)."""
        ids = list(self.birthdays.get((day.month, day.day), []))
        if (day.month, day.day) == (2, 28) and not _leap(day.year):
            ids += self.birthdays.get((2, 29), [])
        for member_id in sorted(ids):
            person = self.people[member_id]
            level = self.ladder.effective(person.level_code)
            if level is not None and level.birthday_points:
                self.books.earn(person.account, level.birthday_points, 0, key=f"birthday:{member_id}:{day.year}",
                                reason_code="birthday_gift", reason=f"{day.year} 年生日礼({level.name})", at=self.at)
        yield from ()

    def _level_notices(self, day: date):
        self.ladder.notify_expiring(self.people, day, self.at)
        yield from ()


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
