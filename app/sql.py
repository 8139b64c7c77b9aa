"""Long hand-written statements, kept readable in the source and short on the wire.

psycopg parses a statement's placeholders on every execution unless the statement is at most
`MAX_CACHED` bytes (it caches the parse of those), so a long statement on a hot path is given with
its runs of whitespace collapsed (outside string literals). Such statements hold no `--` comments.
"""
from __future__ import annotations

import re

from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH as MAX_CACHED
from sqlalchemy import TextClause, text

_LITERAL_OR_SPACE = re.compile(r"('(?:[^']|'')*')|\s+")


def compact(sql: str) -> str:
    if "--" in sql:
        raise ValueError("a compacted statement can't hold -- comments")
    return _LITERAL_OR_SPACE.sub(lambda m: m.group(1) or " ", sql).strip()


def statement(sql: str) -> TextClause:
    """`sqlalchemy.text` of `sql` compacted."""
    return text(compact(sql))
