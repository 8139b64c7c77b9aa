"""An operator in a real browser: sign in, create an item, adjust a member's points, find both in
the audit log, and see the dashboard's charts."""
from __future__ import annotations

import requests
from sqlalchemy import select

from app.extensions import db
from app.operators.service import create
from app.points.models import LedgerEntry
from tests.browser.conftest import SCREENSHOTS
from tests.support import login, seed_rules


def test_an_operator_runs_the_programme_from_the_console(app, client, page, live_server):
    with app.app_context():
        seed_rules()
        create("ops-browser", "correct horse battery", "admin", "王运营")
    member = login(client, "alice")
    page.goto(f"{live_server}/console/")
    page.fill("input[name=username]", "ops-browser")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_selector("#chart-members svg")
    assert page.locator("#chart-points svg").count() == 1 and page.locator("figure svg").count() == 6
    assert page.locator("#chart-campaigns svg").count() == 1 and page.locator("#campaign-results").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    page.click("text=积分商城")
    page.click("text=新建商品")
    page.fill("#f-sku", "TOTE-1")
    page.select_option("#f-kind", "delivery")
    page.fill("#f-category", "周边")
    page.fill("#f-title", "帆布袋")
    page.fill("#f-points_price", "-1")
    page.fill("#f-total_stock", "20")
    page.select_option("#f-status", "on_sale")
    page.click("button[type=submit]")
    assert page.locator('[data-field="points_price"]').is_visible()  # the error sits beside its field
    page.fill("#f-points_price", "600")
    page.click("button[type=submit]")
    page.wait_for_selector("text=已保存商品「帆布袋」")
    seen = requests.get(f"{live_server}/api/v1/mall/items", headers={"Authorization": f"Bearer {member['token']}"},
                        timeout=10).json()
    assert "帆布袋" in str(seen)

    page.goto(f"{live_server}/console/members/{member['member']['id']}")
    page.fill("#adjust-form input[name=amount]", "88")
    page.fill("#adjust-form input[name=reason]", "客服补偿:兑换失败")
    page.click("#adjust-form button[type=submit]")
    page.wait_for_selector("text=已调整")
    with app.app_context():
        entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.reason == "客服补偿:兑换失败"))
        assert entry.amount == 88
    page.screenshot(path=str(SCREENSHOTS / "member.png"), full_page=True)

    page.click("text=操作日志")
    audit = page.locator("#audit").inner_text()
    assert "客服补偿:兑换失败" in audit and "帆布袋" in audit and "王运营" in audit
    page.screenshot(path=str(SCREENSHOTS / "audit.png"), full_page=True)
