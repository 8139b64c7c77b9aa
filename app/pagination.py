"""The one pagination helper: opaque cursors for ledgers (newest first), pages for admin tables."""
from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, ConfigDict, Field

from app.errors import Unprocessable


class CursorQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cursor: str | None = Field(default=None, max_length=64, description="上一页返回的 next_cursor")
    limit: int = Field(default=20, ge=1, le=100)


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=50, ge=1, le=200)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id to continue below, or None for the first page; a malformed cursor is a 422."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "id" or not value.isdigit():
            raise ValueError
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Unprocessable("分页游标无效", code="invalid_cursor")


def cursor_page(rows: list, limit: int, key=lambda row: row.id) -> tuple[list, str | None]:
    """Given up to limit+1 rows, return the page and the cursor of the next one (None at the end)."""
    page = rows[:limit]
    return page, encode_cursor(key(page[-1])) if len(rows) > limit and page else None
