"""Loading the demo year into PostgreSQL with COPY, in one transaction (all of the year or nothing),
with the ids the simulation gave.

Rows that no later day changes (ledger operations and entries, events, awards, check-ins of past
days...) are written while the simulation goes on, by a thread with its own connection, so that
PostgreSQL's work (indexes, foreign keys) overlaps Python's; rows that change until the end (lots,
accounts, orders, invitations, members' profiles) are written last. Then the identity sequences are
moved past the loaded ids, the transaction commits and the planner's statistics are refreshed.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

from sqlalchemy import text

from app.demo_year.people import MEMBER_COLUMNS
from app.demo_year.shop import ORDER_COLUMNS
from app.extensions import db

COLUMNS = {
    "members": MEMBER_COLUMNS,
    "invite_codes": ("member_id", "code", "created_at"),
    "point_accounts": ("member_id", "available", "pending", "lifetime_earned", "lifetime_spent", "expired", "growth",
                       "growth_lifetime", "updated_at"),
    "ledger_operations": ("id", "key", "member_id", "action", "fingerprint", "result", "created_at"),
    "ledger_entries": ("id", "member_id", "operation_id", "currency", "bucket", "kind", "amount", "balance_after",
                       "reason_code", "reason", "source_type", "source_id", "operator_id", "reverses_entry_id", "lot_id",
                       "created_at"),
    "points_lots": ("id", "member_id", "earn_entry_id", "amount", "remaining", "status", "earned_at", "available_at",
                    "expires_at"),
    "lot_allocations": ("id", "entry_id", "lot_id", "amount", "returned"),
    "entry_reversals": ("id", "entry_id", "operation_id", "requested", "taken", "created_at"),
    "earning_events": ("id", "source", "event_id", "event_type", "member_id", "occurred_at", "attributes", "fingerprint",
                       "order_ref", "status", "points", "growth", "outcome", "received_at"),
    "rule_awards": ("id", "rule_id", "member_id", "event_row_id", "business_date", "points", "growth",
                    "points_entry_id", "growth_entry_id", "created_at"),
    "checkins": ("id", "member_id", "day", "made_up", "streak", "created_at"),
    "task_claims": ("id", "task_id", "member_id", "period", "points", "growth", "created_at"),
    "member_levels": ("member_id", "level_code", "reached_at", "expires_at"),
    "level_changes": ("id", "member_id", "from_code", "to_code", "reason", "detail", "created_at"),
    "level_notices": ("id", "member_id", "kind", "level_code", "ref", "due_on", "created_at", "sent_at"),
    "mall_orders": ORDER_COLUMNS,
    "mall_order_transitions": ("id", "order_id", "from_status", "to_status", "actor", "reason", "created_at"),
    "staff_actions": ("id", "staff_id", "store_id", "action", "member_id", "order_id", "idempotency_key", "fingerprint",
                      "detail", "created_at"),
    "invitations": ("id", "invitee_id", "inviter_id", "channel_id", "scene", "status", "inviter_points",
                    "invitee_points", "registered_at", "qualified_at"),
    "touchpoints": ("id", "member_id", "visitor", "kind", "inviter_id", "channel_id", "offline_event_id", "at"),
}

# The tables whose ids the simulation hands out (it starts after the largest id already there).
IDENTITY_TABLES = ("members", "ledger_operations", "ledger_entries", "points_lots", "lot_allocations",
                   "entry_reversals", "earning_events", "rule_awards", "checkins", "task_claims", "level_changes",
                   "level_notices", "mall_orders", "mall_order_transitions", "staff_actions", "invitations",
                   "touchpoints")

Chunk = tuple[str, Iterable[tuple]]  # a table and rows for it, in the order of COLUMNS[table]


def largest_ids() -> dict[str, int]:
    """The largest id of each table the year writes (0 when empty)."""
    query = " UNION ALL ".join(f"SELECT '{t}', coalesce(max(id), 0) FROM {t}" for t in IDENTITY_TABLES)
    ids = {name: int(value) for name, value in db.session.execute(text(query))}
    db.session.rollback()
    return ids


class Loader:
    """One connection and one transaction; `send` hands chunks to the writer thread (in order, so a
    table comes after those it references), `finish` writes the rest and commits, `abort` rolls back."""

    def __init__(self) -> None:
        self._raw = db.engine.raw_connection()
        self._connection = self._raw.driver_connection
        self._queue: queue.Queue = queue.Queue(maxsize=3)
        self._error: BaseException | None = None
        self.counts: dict[str, int] = {}
        self._thread = threading.Thread(target=self._write, name="demo-year-copy", daemon=True)
        self._thread.start()

    def _copy(self, cursor, table: str, rows: Iterable[tuple], columns: tuple[str, ...] | None = None) -> int:
        count = 0
        with cursor.copy(f"COPY {table} ({', '.join(columns or COLUMNS[table])}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def _write(self) -> None:
        with self._connection.cursor() as cursor:
            while True:
                chunks = self._queue.get()
                if chunks is None:
                    return
                if self._error is not None:
                    continue  # keep taking what is sent, so the simulation never blocks on a dead writer
                try:
                    for table, rows in chunks:
                        self.counts[table] = self.counts.get(table, 0) + self._copy(cursor, table, rows)
                except BaseException as exc:  # reported to the simulation's thread at its next send
                    self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def send(self, chunks: list[Chunk]) -> None:
        self._check()
        self._queue.put(chunks)

    def _join(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def finish(self, chunks: list[Chunk], *, members: list[tuple], coupon_codes: list[tuple[int, int]],
               stock_taken: dict[int, int], budgets: dict[int, int]) -> Iterator[tuple[str, int]]:
        """Write the last chunks (yielding each table and the rows it now holds from the year), bring
        the members' rows to their final state, hand out the coupon codes, take the stock, count rule
        budgets, move the sequences, commit."""
        connection = self._connection
        try:
            self._join()
            self._check()
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO off")
                for table, rows in chunks:
                    self.counts[table] = self.counts.get(table, 0) + self._copy(cursor, table, rows)
                    yield table, self.counts[table]
                cursor.execute("CREATE TEMPORARY TABLE demo_year_members (LIKE members) ON COMMIT DROP")
                self._copy(cursor, "demo_year_members", members, COLUMNS["members"])
                changed = [c for c in COLUMNS["members"] if c != "id"]
                cursor.execute(f"UPDATE members m SET ({', '.join(changed)}) = "
                               f"({', '.join('d.' + c for c in changed)}) FROM demo_year_members d WHERE m.id = d.id")
                yield "members", self.counts.get("members", 0)
                cursor.execute("CREATE TEMPORARY TABLE demo_year_codes (id bigint, order_id bigint) ON COMMIT DROP")
                self._copy(cursor, "demo_year_codes", coupon_codes, ("id", "order_id"))
                cursor.execute("UPDATE mall_coupon_codes c SET order_id = d.order_id FROM demo_year_codes d "
                               "WHERE c.id = d.id")
                for item_id, taken in stock_taken.items():
                    cursor.execute("UPDATE mall_items SET remaining_stock = remaining_stock - %s WHERE id = %s",
                                   (taken, item_id))
                for rule_id, used in budgets.items():
                    cursor.execute("UPDATE earn_rules SET budget_used = budget_used + %s WHERE id = %s",
                                   (used, rule_id))
                for table in IDENTITY_TABLES:
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table} "
                                   "HAVING max(id) IS NOT NULL")
                yield "mall_coupon_codes", len(coupon_codes)
            connection.commit()
            with connection.cursor() as cursor:
                for table in COLUMNS:
                    cursor.execute(f"ANALYZE {table}")
            connection.commit()
            yield "analyze", 0
        except BaseException:
            connection.rollback()
            raise
        finally:
            self._close()

    def _close(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def abort(self) -> None:
        """Give up: nothing of the year stays."""
        if self._raw is None:
            return
        self._join()
        try:
            self._connection.rollback()
        finally:
            self._close()
