"""The demo mall `make run` seeds from `config/programme.py` (idempotent: looked up by code and SKU)."""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from app.extensions import db
from app.staff.models import Staff, Store
from app.staff.service import create_staff, create_store
from mall import lottery
from mall.items import save
from mall.models import Item, LotteryPrize
from config.programme import DEMO_ITEMS, DEMO_LOTTERY, DEMO_STAFF, DEMO_STORES


def seed() -> Iterator[str]:
    stores = {s.code: s.id for s in db.session.scalars(select(Store))}
    for spec in DEMO_STORES:
        if spec["code"] not in stores:
            stores[spec["code"]] = create_store(**spec).id
    yield f"stores: {', '.join(stores)}"
    for spec in DEMO_STAFF:
        if db.session.scalar(select(Staff.id).where(Staff.username == spec["username"])) is None:
            create_staff(spec["username"], spec["password"], spec["role"], [stores[c] for c in spec["stores"]],
                         spec["display_name"])
        yield f"staff {spec['username']} / {spec['password']} at {', '.join(spec['stores'])}"
    skus = {i.sku: i.id for i in db.session.scalars(select(Item))}
    for spec in DEMO_ITEMS:
        if spec["sku"] not in skus:
            fields = {k: v for k, v in spec.items() if k != "stores"}
            if "stores" in spec:
                fields["store_ids"] = [stores[c] for c in spec["stores"]]
            skus[spec["sku"]] = save(fields).id
    yield f"mall items: {len(DEMO_ITEMS)}"
    cfg = lottery.settings()
    cfg.cost_points, cfg.daily_limit = DEMO_LOTTERY["cost_points"], DEMO_LOTTERY["daily_limit"]
    if not db.session.scalar(select(LotteryPrize.id).limit(1)):
        for sort, prize in enumerate(DEMO_LOTTERY["prizes"]):
            fields = {k: v for k, v in prize.items() if k != "item_sku"}
            db.session.add(LotteryPrize(sort=sort, item_id=skus.get(prize.get("item_sku")), **fields))
    db.session.commit()
    yield f"lottery: {len(DEMO_LOTTERY['prizes'])} prizes"
