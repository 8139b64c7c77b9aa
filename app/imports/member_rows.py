"""The members file: its columns, and the check of each row on its own and against the rows above it.

Everything here is pure (no database): what only the database knows (a phone used by a member
already, an opening balance posted before) is checked when the row is written, in `service`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from app import clock
from app.imports.reading import Column, Table
from app.points.posting import MAX_AMOUNT

COLUMNS = (
    Column("external_id", "外部编号", required=True),
    Column("phone", "手机号", required=True),
    Column("nickname", "昵称"),
    Column("birthday", "生日"),
    Column("points", "积分"),
    Column("growth", "成长值"),
    Column("joined_at", "入会时间"),
)
LABELS = {c.name: c.label for c in COLUMNS}
PERSONAL = frozenset({"phone", "nickname", "birthday"})  # never repeated back in a report
MAX_EXTERNAL_ID = 50  # the placeholder openid "import:<external_id>" must fit in 64 characters

_PHONE = re.compile(r"^1[3-9]\d{9}$")
_DIGITS = re.compile(r"^[0-9]+$")
_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
_DATETIME = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


@dataclass(frozen=True)
class MemberRow:
    row: int
    external_id: str
    phone: str
    nickname: str | None
    birthday: date | None
    points: int
    growth: int
    joined_at: datetime | None


@dataclass(frozen=True)
class Problem:
    column: str | None
    reason: str
    value: str | None = None

    def as_dict(self) -> dict:
        return {"column": self.column, "column_label": LABELS.get(self.column or ""), "reason": self.reason,
                "value": self.value}


@dataclass
class Rejected:
    """A row that is not written, with every reason found."""

    row: int
    external_id: str | None
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"row": self.row, "external_id": self.external_id, "problems": [p.as_dict() for p in self.problems]}


def check(table: Table) -> list[MemberRow | Rejected]:
    """Each data row, in order: a row to write, or the reasons it is rejected. The first row with an
    external id or a phone keeps it; later rows repeating it are rejected, naming that row."""
    seen_ids: dict[str, int] = {}
    seen_phones: dict[str, int] = {}
    checked: list[MemberRow | Rejected] = []
    for number, cells in table.rows:
        outcome = _check_row(number, table.columns, cells)
        if isinstance(outcome, MemberRow):
            duplicates = []
            if outcome.external_id in seen_ids:
                duplicates.append(Problem("external_id", f"外部编号与第 {seen_ids[outcome.external_id]} 行重复",
                                          outcome.external_id))
            if outcome.phone in seen_phones:
                duplicates.append(Problem("phone", f"手机号与第 {seen_phones[outcome.phone]} 行重复"))
            seen_ids.setdefault(outcome.external_id, number)
            seen_phones.setdefault(outcome.phone, number)
            if duplicates:
                outcome = Rejected(number, outcome.external_id, duplicates)
        checked.append(outcome)
    return checked


def _check_row(number: int, columns: list[str], cells: list[str]) -> MemberRow | Rejected:
    values = {name: cells[i].strip() if i < len(cells) else "" for i, name in enumerate(columns) if name}
    problems: list[Problem] = []
    extra = [cell for cell in cells[len(columns):] if cell.strip()]
    if extra:
        problems.append(Problem(None, f"本行比表头多出 {len(extra)} 列"))

    def take(name: str, parse):
        raw = values.get(name, "")
        try:
            return parse(raw)
        except ValueError as exc:
            problems.append(Problem(name, str(exc), None if name in PERSONAL else raw[:64]))
            return None

    external_id = take("external_id", _external_id)
    phone = take("phone", _phone)
    nickname = take("nickname", _nickname)
    birthday = take("birthday", _birthday)
    points = take("points", lambda raw: _amount(raw, "积分"))
    growth = take("growth", lambda raw: _amount(raw, "成长值"))
    joined_at = take("joined_at", _joined_at)
    if problems:
        return Rejected(number, (external_id or values.get("external_id", ""))[:64] or None, problems)
    return MemberRow(number, external_id, phone, nickname, birthday, points, growth, joined_at)


def _external_id(raw: str) -> str:
    if not raw:
        raise ValueError("外部编号不能为空")
    if len(raw) > MAX_EXTERNAL_ID:
        raise ValueError(f"外部编号最长 {MAX_EXTERNAL_ID} 个字符")
    if any(ord(ch) < 32 for ch in raw):
        raise ValueError("外部编号含有不可见字符")
    return raw


def _phone(raw: str) -> str:
    if not raw:
        raise ValueError("手机号不能为空")
    phone = re.sub(r"[\s-]", "", raw)
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    if not _PHONE.match(phone):
        raise ValueError("手机号须为 11 位中国大陆手机号")
    return phone


def _nickname(raw: str) -> str | None:
    if len(raw) > 64:
        raise ValueError("昵称最长 64 个字符")
    if any(ord(ch) < 32 for ch in raw):
        raise ValueError("昵称含有不可见字符")
    return raw or None


def _birthday(raw: str) -> date | None:
    if not raw:
        return None
    match = _DATE.match(raw)
    try:
        day = date(*(int(part) for part in match.groups())) if match else None
    except ValueError:
        day = None
    if day is None:
        raise ValueError("生日须为 YYYY-MM-DD 格式的有效日期")
    if not date(1900, 1, 1) <= day <= clock.today():
        raise ValueError("生日不在合理范围内")
    return day


def _amount(raw: str, name: str) -> int:
    """Whole numbers only: a float, a sign, a thousands separator or scientific notation is refused,
    never rounded (an opening balance must be exactly what the old system held)."""
    if not raw:
        return 0
    if raw.startswith("-"):
        raise ValueError(f"{name}不能为负数")
    if not _DIGITS.match(raw):
        if re.match(r"^[0-9]*\.[0-9]+$", raw):
            raise ValueError(f"{name}须为整数,不能有小数")
        raise ValueError(f"{name}须为不小于 0 的整数")
    if len(raw) > 10 or int(raw) > MAX_AMOUNT:
        raise ValueError(f"{name}超过上限 {MAX_AMOUNT}")
    return int(raw)


def _joined_at(raw: str) -> datetime | None:
    """A date or a date and time, read in the programme's time zone."""
    if not raw:
        return None
    match = _DATETIME.match(raw)
    try:
        year, month, day, hour, minute, second = (int(part or 0) for part in match.groups()) if match else (0,) * 6
        at = datetime(year, month, day, hour, minute, second, tzinfo=clock.zone())
    except ValueError:
        raise ValueError("入会时间须为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM:SS") from None
    if at.year < 1970 or at > clock.now():
        raise ValueError("入会时间不在合理范围内(不能晚于现在)")
    return at
