"""Flash redemption: orders per second with many concurrent buyers on one item, on PostgreSQL.

    .venv/bin/python -m bench.mall_flash [--seconds 12] [--rounds 4] [--buyers 100]

Measures, in one run with the same threads, pool and driver, in alternating rounds:
  plain UPDATE   `UPDATE ... SET stock = stock - 1 WHERE id = 1 AND stock > 0` + COMMIT, the floor
                 for any oversell-proof stock decrement on one row
  flash orders   `mall.orders.place` (eligibility, points spent through the ledger, stock, order)
and prints the ratio (aim: orders at least a third of the plain rate). Then a sell-out round: the
same buyers race for 300 units; it must end with exactly 300 orders, stock 0, and a clean ledger.
"""
from __future__ import annotations

import argparse
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select, text

from bench.common import bench_app, rate

ADDRESS = {"name": "压测", "phone": "13800000000", "region": "上海", "detail": "测试路 1 号"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=12.0, help="per variant, over all rounds")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--buyers", type=int, default=100)
    args = parser.parse_args()

    with bench_app(db_pool_size=40) as app:
        from app.extensions import db
        from app.points.verify import verify
        from mall import orders
        from mall.errors import NotRedeemable, OutOfStock
        from mall.items import save
        from mall.models import Item, Order

        with app.app_context():
            db.session.execute(text(
                "INSERT INTO members (appid, openid, status, gender, created_at, updated_at) "
                "SELECT 'wx-bench', 'o' || g, 'active', 0, now(), now() FROM generate_series(1, :n) g"), {"n": args.buyers})
            db.session.execute(text(
                "INSERT INTO point_accounts (member_id, available, pending, lifetime_earned, lifetime_spent, expired, "
                "growth, growth_lifetime, updated_at) SELECT id, 0, 0, 0, 0, 0, 0, 0, now() FROM members"))
            db.session.commit()
            buyers = [row[0] for row in db.session.execute(text("SELECT id FROM members ORDER BY id"))]
            from app.points import service as ledger
            for member_id in buyers:
                ledger.earn(member_id, 10_000_000, key=f"bench-seed-{member_id}", reason_code="bench", reason="bench")
            db.session.execute(text("CREATE TABLE bench_stock (id int PRIMARY KEY, stock bigint)"))
            db.session.execute(text("INSERT INTO bench_stock VALUES (1, 100000000)"))
            db.session.commit()
            hot = save({"sku": "FLASH", "kind": "delivery", "category": "flash", "title": "秒杀保温杯", "points_price": 10,
                        "total_stock": 10_000_000, "status": "on_sale"}).id

        def plain_update(t, i):
            db.session.execute(text("UPDATE bench_stock SET stock = stock - 1 WHERE id = 1 AND stock > 0"))
            db.session.commit()

        def flash_order(t, i):
            orders.place(buyers[t % len(buyers)], hot, 1, uuid.uuid4().hex, ADDRESS)

        # alternating rounds, so both are measured under the same conditions
        totals = {"plain": [0.0, 0], "flash": [0.0, 0]}
        ratios = []
        for _ in range(args.rounds):
            rates = {}
            for name, action in (("plain", plain_update), ("flash", flash_order)):
                per_second, done = rate(app, args.buyers, args.seconds / args.rounds, action)
                rates[name] = per_second
                totals[name][0] += done / per_second if per_second else 0
                totals[name][1] += done
            ratios.append(rates["flash"] / rates["plain"])
        plain = totals["plain"][1] / totals["plain"][0]
        flash = totals["flash"][1] / totals["flash"][0]
        print(f"plain conditional UPDATE  {plain:8.0f} /s  ({totals['plain'][1]} in {totals['plain'][0]:.0f} s, "
              f"{args.buyers} threads)")
        print(f"flash orders              {flash:8.0f} /s  ({totals['flash'][1]} in {totals['flash'][0]:.0f} s, "
              f"{args.buyers} buyers)")
        print(f"orders / plain UPDATE = {flash / plain:.2f}  (aim >= 0.33); per round: "
              f"{', '.join(f'{r:.2f}' for r in ratios)}")
        with app.app_context():
            item = db.session.get(Item, hot)
            sold = db.session.scalar(select(func.sum(Order.quantity)).where(Order.item_id == hot))
            print(f"stock accounting: {item.total_stock - item.remaining_stock} taken, {sold} ordered "
                  f"({'exact' if item.total_stock - item.remaining_stock == sold else 'MISMATCH'})")
            sellout = save({"sku": "SELLOUT", "kind": "delivery", "category": "flash", "title": "限量 300",
                            "points_price": 10, "total_stock": 300, "status": "on_sale"}).id

        barrier = threading.Barrier(args.buyers)

        def race(member_id):
            with app.app_context():
                barrier.wait()
                won = 0
                try:
                    while True:
                        orders.place(member_id, sellout, 1, uuid.uuid4().hex, ADDRESS)
                        won += 1
                except (OutOfStock, NotRedeemable) as exc:
                    if exc.code != "out_of_stock":
                        raise
                    return won
                finally:
                    db.session.remove()

        with ThreadPoolExecutor(args.buyers) as pool:
            won = sum(pool.map(race, buyers))
        with app.app_context():
            left = db.session.get(Item, sellout).remaining_stock
            placed = db.session.scalar(select(func.count()).where(Order.item_id == sellout))
            problems = verify()
        print(f"sell-out race: {won} orders won, {placed} in the database, stock left {left} "
              f"({'no oversell' if placed == 300 and left == 0 else 'OVERSOLD'}); "
              f"ledger verify {'clean' if not problems else f'{len(problems)} discrepancies'}")


if __name__ == "__main__":
    main()
