"""Campaign and birthday results on the dashboard: a member day beside the ordinary days before it."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app import clock
from app.checkin import service as checkin
from app.dashboard import figures
from app.points import service as ledger
from tasks.campaigns import ensure_member_day_campaign
from tests.support import make_member, seed_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_a_member_day_is_compared_with_the_four_weeks_before_it(ctx):
    seed_rules()
    members = [make_member(f"c{i}") for i in range(6)]
    clock.freeze(at(2026, 5, 20, 9))
    for day in range(1, 8):  # two members a day check in on ordinary days
        clock.freeze(at(2026, 6, day, 9))
        for member in members[:2]:
            checkin.check_in(member)
    ensure_member_day_campaign(at(2026, 6, 8).date())
    clock.freeze(at(2026, 6, 8, 10))
    for member in members:  # on the member day all six come
        checkin.check_in(member)
    ledger.earn(members[3], 30, key="birthday:c3:2026", reason_code="birthday_gift", reason="2026 年生日礼")
    clock.freeze(at(2026, 6, 10, 12))
    ledger.earn(members[3], 5, key="came-back", reason_code="purchase", reason="消费")  # within the week

    period = figures.Period(at(2026, 6, 1).date(), at(2026, 6, 10).date())
    [day] = figures.campaigns(period)
    assert (day["start"], day["end"], day["multiplier_pct"]) == ("2026-06-08", "2026-06-08", 200)
    assert (day["active_per_day"], day["usual_active_per_day"], day["lift"]) == (6.0, 2.0, 2.0)
    assert day["checkins_per_day"] == 6.0 and day["issued"] > 0
    [june] = figures.birthdays(period)
    assert (june["month"], june["gifts"], june["points"], june["returned"], june["return_rate"]) == ("2026-06", 1, 30, 1, 1.0)
    assert figures.campaigns(figures.Period(at(2026, 6, 1).date(), at(2026, 6, 7).date())) == []


def test_the_console_shows_and_exports_campaign_results(app):
    from tests.test_console import sign_in

    with app.app_context():
        seed_rules()
        member = make_member("cx")
        ensure_member_day_campaign(clock.today())
        checkin.check_in(member)
    console = sign_in(app)
    page = console.get("/console/").get_data(as_text=True)
    assert 'id="chart-campaigns"' in page and 'id="campaign-results"' in page and "会员日" in page
    lines = console.get("/console/export/campaigns.csv").get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,name,grade,start,end,multiplier_pct") and len(lines) == 2
    assert console.get("/console/export/birthdays.csv").status_code == 200
