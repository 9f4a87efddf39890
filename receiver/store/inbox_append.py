"""The accept path's one statement: appending a body to the inbox, many at a time.

Every webhook's answer waits for its append to commit, so this is the hottest write the
receiver has. Going through SQLAlchemy's Core cost about 140 µs per row (building the
execution context, processing the parameters, a savepoint per job); here the INSERT is
compiled once from the table's declaration — which stays the one source of truth — and
its parameters are converted by the columns' own bind processors, so each row costs the
driver's call and little else.

SQLite: the rows ride the group commit (group_commit.py), in the transaction every
other writer shares, without a savepoint each: a single INSERT is atomic on its own.
PostgreSQL: the appends waiting at the same moment go in one INSERT … SELECT FROM unnest
in one transaction: one round trip and one commit for the lot, instead of three each.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from receiver.store.schema import SPOOLED_COLUMNS, inbox

log = structlog.get_logger(__name__)

# what an append stores besides the body; `pending` and `attempts` start the applier's work
_COLUMNS = (*SPOOLED_COLUMNS, "pending", "attempts")
# PostgreSQL: at most this many rows per statement (arrays of bodies stay a few MB), and
# this many statements in flight: while one waits for its commit's WAL flush, the next
# appends need not wait behind it (the server flushes concurrent commits together)
PG_MAX_ROWS = 256
PG_IN_FLIGHT = 4


def inbox_row(
    kind: str, body: str, received_at: datetime, credential: str | None
) -> dict[str, Any]:
    """One new entry's columns, as the table declares them."""
    data = body.encode()
    return {
        "received_at": received_at,
        "kind": kind,
        "body": body,
        "body_sha256": hashlib.sha256(data).hexdigest(),
        "body_bytes": len(data),
        "credential": credential,
        "pending": True,
        "attempts": 0,
    }


class _Converter:
    """The columns' bind processors for one dialect, looked up once."""

    def __init__(
        self, dialect: Dialect, table: sa.Table = inbox, columns: Sequence[str] = _COLUMNS
    ) -> None:
        self.columns = tuple(columns)
        self.processors: list[Callable[[Any], Any] | None] = [
            table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.columns
        ]

    def values(self, row: dict[str, Any]) -> list[Any]:
        return [
            value if process is None else process(value)
            for process, value in zip(
                self.processors, (row[name] for name in self.columns), strict=True
            )
        ]


class SqliteInboxInsert:
    """`INSERT INTO inbox (…) VALUES (?, …)` for the sqlite3 driver (or into the spool,
    with its columns)."""

    def __init__(
        self, dialect: Dialect, table: sa.Table = inbox, columns: Sequence[str] = _COLUMNS
    ) -> None:
        self.converter = _Converter(dialect, table, columns)
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        self.sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"

    def parameters(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(self.converter.values(row))


@dataclass(slots=True)
class _Waiting:
    values: list[Any]
    future: asyncio.Future[int] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class PostgresInboxAppender:
    """Appends on PostgreSQL: whoever waits when a statement starts goes in it."""

    def __init__(self, engine: AsyncEngine, translate: Callable[[BaseException], BaseException]):
        self.engine = engine
        self.translate = translate
        self.converter = _Converter(engine.dialect)
        # the column types unnest needs, from the table's declaration
        types = [inbox.c[name].type.compile(engine.dialect) for name in _COLUMNS]
        arrays = ", ".join(f"${i}::{sql_type}[]" for i, sql_type in enumerate(types, 1))
        names = ", ".join(_COLUMNS)
        # rows go in `ord` order, so the serial ids they draw ascend in that order
        self.sql = (
            f"INSERT INTO {inbox.name} ({names}) "
            f"SELECT {names} FROM unnest({arrays}) WITH ORDINALITY AS t({names}, ord) "
            "ORDER BY ord RETURNING id"
        )
        self.queue: list[_Waiting] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def append(self, row: dict[str, Any]) -> int:
        waiting = _Waiting(self.converter.values(row))
        self.queue.append(waiting)
        if len(self.tasks) < PG_IN_FLIGHT:
            task = asyncio.create_task(self._drain(), name="inbox-append")
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return await waiting.future

    async def _drain(self) -> None:
        while self.queue:
            batch, self.queue = self.queue[:PG_MAX_ROWS], self.queue[PG_MAX_ROWS:]
            try:
                ids = await self._insert([waiting.values for waiting in batch])
            except Exception as exc:  # the callers answer 503; the next batch tries again
                log.warning("store.append_failed", rows=len(batch), error=str(exc))
                failure = self.translate(exc)
                for waiting in batch:
                    if not waiting.future.done():
                        waiting.future.set_exception(failure)
                continue
            for waiting, entry_id in zip(batch, ids, strict=True):
                if not waiting.future.done():
                    waiting.future.set_result(entry_id)

    async def _insert(self, rows: Sequence[list[Any]]) -> list[int]:
        columns = [list(column) for column in zip(*rows, strict=True)]
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection  # asyncpg's Connection
            # one statement, atomic on its own and committed when it returns: no BEGIN
            # and COMMIT around it (two more round trips per group of appends)
            records = await driver.fetch(self.sql, *columns)
        # RETURNING gives the ids; sorted, they match the rows in `ord` order
        return sorted(int(record["id"]) for record in records)
