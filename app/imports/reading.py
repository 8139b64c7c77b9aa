"""Reading an uploaded CSV file: what kind of file it is, its encoding, its header, its rows.

Spreadsheets save CSV as UTF-8 (Excel's "CSV UTF-8" adds a BOM) or, in Chinese Excel's plain
"CSV", as GBK. The bytes are tried as UTF-8 (with or without BOM) first, then as GBK: GBK text is
almost never valid UTF-8, so the first that decodes is the right one. A file refused here is
refused whole and nothing is written.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from app.imports.errors import FileRefused, FileTooLarge, NotCsv

ENCODINGS = ("utf-8-sig", "gbk")
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx (zip) and .xls (OLE)


@dataclass(frozen=True)
class Column:
    name: str  # the English header, also the name used in reports
    label: str  # the Chinese header
    required: bool = False

    @property
    def title(self) -> str:
        return f"{self.label}({self.name})"


@dataclass
class Table:
    """A parsed file: the canonical name of each header cell, and the data rows with their row
    numbers as a spreadsheet shows them (the header is row 1). Blank rows are left out."""

    columns: list[str]
    rows: list[tuple[int, list[str]]]
    total: int  # data rows (also when `rows` were not kept)


def decode(data: bytes, filename: str, *, max_bytes: int | None) -> tuple[str, str]:
    """The file's text and the encoding it was read in."""
    if not filename.lower().endswith(".csv"):
        raise NotCsv()
    if max_bytes is not None and len(data) > max_bytes:
        raise FileTooLarge(f"文件超过 {max_bytes // (1024 * 1024) or 1} MB,请拆分后上传,或用命令行导入",
                           details={"max_bytes": max_bytes})
    if data.startswith(_WORKBOOK_MAGIC):
        raise NotCsv("这是 Excel 工作簿,请在 Excel 中“另存为 CSV”后上传")
    if b"\x00" in data:
        raise NotCsv("文件不是文本格式的 CSV(如为 UTF-16 编码,请另存为 CSV UTF-8)")
    if not data.strip():
        raise FileRefused("文件是空的", code="import_empty")
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding.replace("utf-8-sig", "utf-8")
        except UnicodeDecodeError:
            continue
    raise FileRefused("无法识别文件编码,请另存为 UTF-8 或 GBK 编码的 CSV", code="import_bad_encoding")


def parse(text: str, columns: tuple[Column, ...], *, max_rows: int | None = None, keep_rows: bool = True) -> Table:
    """Header first (English or Chinese names, in any order); unknown, repeated or missing
    required columns refuse the file, so a misnamed column never drops its data silently.
    `keep_rows=False` checks the file and counts its rows without holding them (an upload's check)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []
    total = 0
    try:
        names = _header(next(reader, None) or [], columns)
        for number, record in enumerate(reader, start=2):
            if any(cell.strip() for cell in record):
                total += 1
                if keep_rows:
                    records.append((number, record))
    except csv.Error as exc:
        raise FileRefused(f"第 {reader.line_num} 行不是合法的 CSV", code="import_malformed",
                          details={"line": reader.line_num}) from exc
    if not total:
        raise FileRefused("文件中没有数据行", code="import_no_rows")
    if max_rows is not None and total > max_rows:
        raise FileTooLarge(f"文件超过 {max_rows} 行,请拆分后上传,或用命令行导入",
                           code="import_too_many_rows", details={"max_rows": max_rows, "rows": total})
    return Table(names, records, total)


def _header(cells: list[str], columns: tuple[Column, ...]) -> list[str]:
    known = {c.name.lower(): c.name for c in columns} | {c.label: c.name for c in columns}
    names, unknown = [], []
    for cell in cells:
        name = known.get(cell.strip().lower())
        names.append(name or "")
        if name is None and cell.strip():
            unknown.append(cell.strip())
    accepted = "、".join(c.title for c in columns)
    if unknown:
        raise FileRefused(f"第一行须为表头;无法识别的列:{'、'.join(unknown[:10])}。可用的列:{accepted}",
                          code="import_unknown_columns", details={"unknown": unknown[:50]})
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise FileRefused(f"表头中的列重复:{'、'.join(repeated)}", code="import_duplicate_columns",
                          details={"repeated": repeated})
    missing = [c for c in columns if c.required and c.name not in names]
    if missing:
        raise FileRefused(f"缺少必需的列:{'、'.join(c.title for c in missing)}", code="import_missing_columns",
                          details={"missing": [c.name for c in missing]})
    return names
