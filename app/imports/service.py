"""Importing members and their opening balances from the brand's previous system.

Keys. An imported member is known by the old system's id, the file's `external_id`: members are
keyed on (appid, openid) and an imported member has no openid yet, so it gets the placeholder
openid `import:<external_id>` (a real openid never contains a colon) and `register_scene`
`import`. Its opening balance (points and growth together) is one ledger operation with the key
`import:opening:<external_id>`, of kind `adjust` (a migrated balance is not earned by activity, so
it stays out of the daily "issued" figure; the lot expires by the programme's policy from the
import date) with reason code `opening_balance`. Importing a file again finds both and writes
nothing; an opening balance that differs from the one posted is rejected, never posted twice.

Batches. Rows are written 500 to a transaction, one import batch at a time (an advisory lock), so a
re-uploaded or concurrently re-run file waits instead of racing. A run's progress is counted after
each commit; a job run again after a crash resumes after the last counted batch, and a batch that
committed without being counted is simply found already imported.

Later login. The member's WeChat login creates a new member (the placeholder openid never
matches), and binding the imported phone number to it is refused as `phone_taken`: claiming an
imported member is not built yet (see docs/imports.md).
"""
from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from app import clock, locks
from app.extensions import db, get_redis
from app.imports import member_rows, reading, runs
from app.imports.errors import UnknownRun
from app.imports.member_rows import MemberRow, Problem, Rejected
from app.members.models import Member
from app.points import service as ledger
from app.points.errors import IdempotencyMismatch
from app.points.models import LedgerEntry, LedgerOperation
from tasks.queues import enqueue

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024  # through the API; the CLI has no cap
MAX_ROWS = 100_000
BATCH_ROWS = 500
JOB_TIMEOUT = 3600
SCENE = "import"
REASON_CODE = "opening_balance"
REASON = "迁移期初余额"


def placeholder_openid(external_id: str) -> str:
    return f"import:{external_id}"


def opening_key(external_id: str) -> str:
    return f"import:opening:{external_id}"


def job_id(run_id: str) -> str:
    return f"import-{run_id}"


def max_file_bytes() -> int:
    return current_app.config.get("IMPORT_MAX_BYTES", MAX_FILE_BYTES)


@dataclass
class MembersFile:
    text: str
    encoding: str
    table: reading.Table


def read_members_file(data: bytes, filename: str, *, upload: bool = True) -> MembersFile:
    """Check the file as a whole (kind, encoding, header; an upload's size and row count too),
    refusing it with a 4xx. An upload's rows are only counted here: its job reads them."""
    text, encoding = reading.decode(data, filename, max_bytes=max_file_bytes() if upload else None)
    max_rows = current_app.config.get("IMPORT_MAX_ROWS", MAX_ROWS) if upload else None
    return MembersFile(text, encoding, reading.parse(text, member_rows.COLUMNS, max_rows=max_rows,
                                                     keep_rows=not upload))


def start_member_import(filename: str, data: bytes, operator_id: int) -> dict:
    """Check an uploaded file, record its run and queue the job that writes it."""
    file = read_members_file(data, filename)
    run_id = runs.create("members", filename=filename, encoding=file.encoding, total=file.table.total,
                         operator_id=operator_id, origin="api", source=file.text)
    enqueue("app.imports.jobs.import_members", run_id, queue_name="maintenance", job_id=job_id(run_id),
            timeout=JOB_TIMEOUT)
    return run(run_id)


def begin_local_import(file: MembersFile, filename: str, operator_id: int | None) -> str:
    """A run for the CLI, which writes the file itself (nothing is queued, the text is not kept)."""
    return runs.create("members", filename=filename, encoding=file.encoding, total=file.table.total,
                       operator_id=operator_id, origin="cli")


def run(run_id: str) -> dict:
    """A run's state. A job that died without saying so (its process killed) shows as failed."""
    state = runs.get(run_id)
    if state is None:
        raise UnknownRun()
    if state["status"] in ("queued", "running") and state["origin"] == "api" and _job_died(run_id):
        runs.mark(run_id, "failed", error="导入任务意外中止,请重新上传同一文件(已导入的不会重复)")
        state = runs.get(run_id)
    return state


def recent_runs(limit: int = 20) -> list[dict]:
    return [run(state["id"]) for state in runs.recent(limit)]


def rejected_rows(run_id: str, *, page: int, per_page: int) -> list[dict]:
    return runs.rejected(run_id, (page - 1) * per_page, per_page)


def _job_died(run_id: str) -> bool:
    try:
        job = Job.fetch(job_id(run_id), connection=get_redis())
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def run_member_import(run_id: str, *, file: MembersFile | None = None,
                      progress: Callable[[int], None] | None = None) -> dict:
    """Write a run's rows in batches, from the first batch not yet counted. Safe to run again."""
    state = runs.get(run_id)
    if state is None:
        raise UnknownRun()
    if state["status"] == "finished":
        return state
    if file is None:
        text = runs.source(run_id)
        if text is None:
            runs.mark(run_id, "failed", error="上传的文件已过期,请重新上传(已导入的会员不会重复导入)")
            return runs.get(run_id)
        table = reading.parse(text, member_rows.COLUMNS)
    else:
        table = file.table
    runs.mark(run_id, "running")
    checked = member_rows.check(table)
    appid = current_app.config["SETTINGS"].effective_wechat_appid
    try:
        for start in range(state["done"], len(checked), BATCH_ROWS):
            batch = checked[start:start + BATCH_ROWS]
            written = _write_batch(batch, appid=appid, operator_id=state["operator_id"])
            runs.advance(run_id, rows=len(batch), imported=written.imported, unchanged=written.unchanged,
                         rejected=[r.as_dict() for r in sorted(written.rejected, key=lambda r: r.row)])
            if progress is not None:
                progress(len(batch))
    except Exception:
        db.session.rollback()
        log.exception("import %s stopped", run_id)
        again = "请重新运行命令" if state["origin"] == "cli" else "可等待自动重试,或重新上传同一文件"
        runs.mark(run_id, "failed", error=f"导入中断:{again}(已导入的不会重复)")
        raise
    runs.mark(run_id, "finished")
    return runs.get(run_id)


@dataclass
class _Written:
    imported: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True)
class _Posted:
    member_id: int
    points: int
    growth: int


class _Raced(Exception):
    """Someone else wrote a key or took a phone between this batch's reads and its writes."""


def _write_batch(batch: list[MemberRow | Rejected], *, appid: str, operator_id: int | None) -> _Written:
    """One transaction. The ledger rolls back the whole transaction when it meets a used key, so a
    race (only possible with writers outside imports) restarts the batch, which then sees it."""
    for _ in range(3):
        try:
            written = _try_batch(batch, appid=appid, operator_id=operator_id)
        except _Raced:
            db.session.rollback()
            continue
        db.session.commit()
        return written
    raise RuntimeError("an import batch kept meeting concurrent writes")


def _try_batch(batch: list[MemberRow | Rejected], *, appid: str, operator_id: int | None) -> _Written:
    locks.hold("imports:members")
    written = _Written(rejected=[r for r in batch if isinstance(r, Rejected)])
    rows = [r for r in batch if isinstance(r, MemberRow)]
    if not rows:
        return written
    members = dict(db.session.execute(select(Member.openid, Member.id).where(
        Member.appid == appid, Member.openid.in_([placeholder_openid(r.external_id) for r in rows]))).all())
    phones = dict(db.session.execute(select(Member.phone, Member.openid).where(
        Member.appid == appid, Member.phone.in_([r.phone for r in rows]))).all())
    posted = _posted([opening_key(r.external_id) for r in rows])
    new: list[MemberRow] = []
    topped_up: list[tuple[MemberRow, int]] = []  # imported before with no balance, given one now
    for row in rows:
        member_id = members.get(placeholder_openid(row.external_id))
        earlier = posted.get(opening_key(row.external_id))
        problem = _conflict(row, member_id, earlier, phones.get(row.phone))
        if problem is not None:
            written.rejected.append(Rejected(row.row, row.external_id, [problem]))
        elif member_id is None:
            new.append(row)
        elif earlier is None and (row.points or row.growth):
            topped_up.append((row, member_id))
        else:
            written.unchanged += 1
    created = _create_members(new, appid)
    for row, member_id in topped_up + [(row, created[placeholder_openid(row.external_id)]) for row in new]:
        if row.points or row.growth:
            _post_opening_balance(row, member_id, operator_id)
    written.imported = len(new) + len(topped_up)
    return written


def _conflict(row: MemberRow, member_id: int | None, earlier: _Posted | None, phone_owner: str | None) -> Problem | None:
    if earlier is not None and earlier.member_id != member_id:
        return Problem("external_id", "该外部编号已导入过,对应的会员已注销或已变更,不再重复导入", row.external_id)
    if member_id is None:
        return Problem("phone", "手机号已被其他会员使用") if phone_owner is not None else None
    if earlier is not None and (earlier.points, earlier.growth) != (row.points, row.growth):
        column = "points" if earlier.points != row.points else "growth"
        return Problem(column, f"与已入账的期初余额(积分 {earlier.points},成长值 {earlier.growth})不一致;"
                               "期初余额只入账一次,如需更正请在后台手工调整",
                       str(row.points if column == "points" else row.growth))
    return None


def _posted(keys: list[str]) -> dict[str, _Posted]:
    """Opening balances already in the ledger, by key (what the operation wrote, whatever came after)."""
    sums: dict[str, dict] = {}
    for key, member_id, currency, amount in db.session.execute(
            select(LedgerOperation.key, LedgerOperation.member_id, LedgerEntry.currency, func.sum(LedgerEntry.amount))
            .join(LedgerEntry, LedgerEntry.operation_id == LedgerOperation.id)
            .where(LedgerOperation.key.in_(keys))
            .group_by(LedgerOperation.key, LedgerOperation.member_id, LedgerEntry.currency)):
        sums.setdefault(key, {"member_id": member_id, "points": 0, "growth": 0})[currency] = int(amount)
    return {key: _Posted(**values) for key, values in sums.items()}


def _create_members(rows: list[MemberRow], appid: str) -> dict[str, int]:
    """Insert the batch's new members in one statement; the ids by placeholder openid. Any unique
    key already taken (a phone bound a moment ago) leaves its row out, and the batch starts again."""
    if not rows:
        return {}
    at = clock.now()
    stmt = insert(Member).values([
        {"appid": appid, "openid": placeholder_openid(row.external_id), "status": "active", "gender": 0,
         "phone": row.phone, "nickname": row.nickname, "birthday": row.birthday, "register_scene": SCENE,
         "created_at": row.joined_at or at, "updated_at": at} for row in rows
    ]).on_conflict_do_nothing().returning(Member.openid, Member.id)
    created = dict(db.session.execute(stmt).all())
    if len(created) != len(rows):
        raise _Raced()
    return created


def _post_opening_balance(row: MemberRow, member_id: int, operator_id: int | None) -> None:
    """Points and growth in one ledger operation, the way `ledger.adjust` posts an operator's
    positive correction, with the old system's id as its source."""
    try:
        outcome = ledger.earn(member_id, row.points, growth=row.growth, key=opening_key(row.external_id),
                              reason_code=REASON_CODE, reason=REASON, kind="adjust", source_type="import",
                              source_id=row.external_id, operator_id=operator_id, commit=False)
    except IdempotencyMismatch as exc:
        raise _Raced() from exc
    if outcome.replayed:
        raise _Raced()


_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def rejected_csv(run_id: str) -> Iterator[str]:
    """The rejected rows as CSV for Excel (UTF-8 with BOM), one line per reason."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["行号", "外部编号", "列", "原因", "值"])
    yield "\ufeff" + _drain(buffer)
    for item in runs.all_rejected(run_id):
        for problem in item["problems"]:
            writer.writerow([item["row"], _cell(item["external_id"]), problem["column_label"] or "",
                             problem["reason"], _cell(problem["value"])])
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(value: str | None) -> str:
    """A cell Excel will not run as a formula (the values come from an uploaded file)."""
    if not value:
        return ""
    return "'" + value if _FORMULA.match(value) and not _NUMBER.match(value) else value
