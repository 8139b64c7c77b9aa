"""Import runs, kept in Redis rather than a table: a hash of status and counters, the list of
rejected rows, and the uploaded text (compressed) until the job has finished with it.

A run's record expires after 30 days. The uploaded text holds phone numbers, so it goes as soon as
the run finishes, and after 3 days at the latest. What the import wrote is in the database, keyed
by the ledger's idempotency keys; nothing here is needed to keep it correct.
"""
from __future__ import annotations

import json
import secrets
import zlib
from collections.abc import Iterator

from app import clock
from app.extensions import get_redis

RUN_TTL = 30 * 86400
SOURCE_TTL = 3 * 86400
STATUSES = ("queued", "running", "finished", "failed")
COUNTERS = ("total", "done", "imported", "unchanged", "rejected")
RECENT = "imports:recent"  # the newest run ids first, for the console's list
RECENT_KEPT = 50


def _key(run_id: str, part: str | None = None) -> str:
    return f"imports:{run_id}:{part}" if part else f"imports:{run_id}"


def create(kind: str, *, filename: str, encoding: str, total: int, operator_id: int | None,
           origin: str, source: str | None = None) -> str:
    run_id = secrets.token_hex(8)
    pipe = get_redis().pipeline()
    pipe.hset(_key(run_id), mapping={
        "kind": kind, "status": "queued", "filename": filename[:200], "encoding": encoding, "origin": origin,
        "operator_id": "" if operator_id is None else str(operator_id), "created_at": clock.now().isoformat(),
        **{name: 0 for name in COUNTERS}, "total": total})
    pipe.expire(_key(run_id), RUN_TTL)
    pipe.lpush(RECENT, run_id)
    pipe.ltrim(RECENT, 0, RECENT_KEPT - 1)
    if source is not None:
        pipe.set(_key(run_id, "source"), zlib.compress(source.encode(), 1), ex=SOURCE_TTL)
    pipe.execute()
    return run_id


def get(run_id: str) -> dict | None:
    raw = get_redis().hgetall(_key(run_id))
    if not raw:
        return None
    run = {k.decode(): v.decode() for k, v in raw.items()}
    for name in COUNTERS:
        run[name] = int(run.get(name) or 0)
    run["operator_id"] = int(run["operator_id"]) if run.get("operator_id") else None
    run["id"] = run_id
    return run


def recent(limit: int = 20) -> list[dict]:
    """The newest runs still kept (a run whose record expired drops out)."""
    ids = [raw.decode() for raw in get_redis().lrange(RECENT, 0, limit - 1)]
    return [run for run in (get(run_id) for run_id in ids) if run is not None]


def source(run_id: str) -> str | None:
    packed = get_redis().get(_key(run_id, "source"))
    return None if packed is None else zlib.decompress(packed).decode()


def mark(run_id: str, status: str, **fields: str) -> None:
    """Move the run to `status`; `started_at` / `finished_at` are stamped by the move."""
    assert status in STATUSES
    stamp = {"running": "started_at", "finished": "finished_at", "failed": "finished_at"}.get(status)
    values = {"status": status, **fields, **({stamp: clock.now().isoformat()} if stamp else {})}
    pipe = get_redis().pipeline()
    pipe.hset(_key(run_id), mapping=values)
    if status == "running":
        pipe.hdel(_key(run_id), "error", "finished_at")
    if status == "finished":
        pipe.delete(_key(run_id, "source"))
    pipe.execute()


def advance(run_id: str, *, rows: int, imported: int, unchanged: int, rejected: list[dict]) -> None:
    """Count one committed batch, in one Redis transaction (its counters and its rejected rows together)."""
    pipe = get_redis().pipeline()
    pipe.hincrby(_key(run_id), "done", rows)
    pipe.hincrby(_key(run_id), "imported", imported)
    pipe.hincrby(_key(run_id), "unchanged", unchanged)
    pipe.hincrby(_key(run_id), "rejected", len(rejected))
    if rejected:
        pipe.rpush(_key(run_id, "rejected"), *(json.dumps(r, ensure_ascii=False) for r in rejected))
        pipe.expire(_key(run_id, "rejected"), RUN_TTL)
    pipe.execute()


def rejected(run_id: str, offset: int, limit: int) -> list[dict]:
    return [json.loads(item) for item in get_redis().lrange(_key(run_id, "rejected"), offset, offset + limit - 1)]


def all_rejected(run_id: str, chunk: int = 1000) -> Iterator[dict]:
    offset = 0
    while True:
        items = rejected(run_id, offset, chunk)
        yield from items
        if len(items) < chunk:
            return
        offset += chunk
