"""SQLite: the inbox's own file, so that accepting never waits behind applying.

SQLite has one writer per file. With the inbox in the main file, every append waited
for the applier's transaction to end: a storm's hundred-alert entry takes tens of
milliseconds to apply, and its commit as long again, while 32 appends queued behind it.
So on SQLite the accept path appends to `<database>-inbox` (this spool), with its own
writer and its own group commit, and answers once that commit returns (synchronous=FULL,
as the main file). The applier moves what the spool holds into the main file's inbox
table, ids and all, in the transaction that applies them: the main file stays the one
record of what is applied, and everything that reads the inbox reads it there. Rows a
committed move took are forgotten later (once the applier has caught up, or every so
many while it drains: receiver.usecases.apply_inbox); until then, and after a crash in
between, the next move passes over them (their ids are at most the main table's largest).

Long bodies are kept compressed (zlib, its fastest level) while spooled: Alertmanager's
bodies repeat their labels alert after alert, so a storm's hundred-alert body of 80 kB
takes under 2 kB, and each group commit writes and syncs that much less (a commit's CPU
per such body 0.44 -> 0.27 ms, compressing included). A short one is kept as it came:
compressing a one-alert body saves a kilobyte and cost a tenth of its accept path's CPU
(zlib sets up its state for every call). A body leaves the spool as the text it came
as.

The spool's ids are the entries' ids for good (the answer's `inbox_id`): its sequence is
kept above every id the main table has, so a spool started beside an older database (or
lost) never hands out an id twice.
"""

from __future__ import annotations

import asyncio
import sqlite3
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from receiver.store.group_commit import GroupCommitter
from receiver.store.inbox import Backlog
from receiver.store.inbox_append import SqliteInboxInsert
from receiver.store.schema import SPOOLED_COLUMNS, inbox_spool, spool_metadata

Translate = Callable[[BaseException], BaseException]

_TAKE = (
    f"SELECT id, {', '.join(SPOOLED_COLUMNS)} FROM {inbox_spool.name} "
    "WHERE id > ? ORDER BY id LIMIT ?"
)
_COUNT = sa.select(
    sa.func.count(inbox_spool.c.id),
    sa.func.coalesce(sa.func.sum(inbox_spool.c.body_bytes), 0),
    sa.func.min(inbox_spool.c.received_at),
).where(inbox_spool.c.id > sa.bindparam("after"))
_OLDEST_ID = sa.select(sa.func.min(inbox_spool.c.id))
_FORGET = f"DELETE FROM {inbox_spool.name} WHERE id <= ?"
# where a taken row (its id first) holds the body
_BODY_AT = 1 + SPOOLED_COLUMNS.index("body")
# zlib's fastest: a storm's body compresses 45-fold in 0.1 ms
_COMPRESSION_LEVEL = 1
# a body at least this long is compressed (two of SQLite's pages)
COMPRESSED_FROM = 8192


def packed(body: str) -> str | bytes:
    """A body as the spool keeps it: compressed if long (bytes), else as it came (text,
    as an older spool kept every body)."""
    if len(body) < COMPRESSED_FROM:
        return body
    return zlib.compress(body.encode(), _COMPRESSION_LEVEL)


def unpacked(stored: str | bytes) -> str:
    """A body as it came, from what the spool keeps."""
    return stored if isinstance(stored, str) else zlib.decompress(stored).decode()


def spool_path(database: str) -> Path:
    """Where the spool of the SQLite file `database` lives: beside it."""
    return Path(f"{database}-inbox")


class InboxSpool:
    def __init__(self, engine: sa.Engine, translate: Translate) -> None:
        """`engine`: synchronous (pysqlite) on the spool's file, with the receiver's
        SQLite pragmas (WAL, synchronous=FULL, busy_timeout)."""
        self.engine = engine
        self.group = GroupCommitter(engine, asyncio.Lock(), translate)
        self.insert = SqliteInboxInsert(engine.dialect, inbox_spool, SPOOLED_COLUMNS)
        self.ready = False  # prepared by this process (its table, its sequence)
        self._found = False  # or found prepared by another one

    def readable(self) -> bool:
        """Whether there is a spool to read: prepared here, or a file holding its table
        that another process prepared (the server, for a command). Reading never creates
        one: a command that only reads may run beside a database it may not write."""
        if self.ready or self._found:
            return True
        path = self.engine.url.database
        if not path or not Path(path).exists():
            return False
        with self.engine.connect() as conn:
            self._found = sa.inspect(conn).has_table(inbox_spool.name)
        return self._found

    def prepare(self, largest_id: int) -> None:
        """The spool's table, its sequence above `largest_id` (the main table's largest
        id): once per process, before the first append."""
        if self.ready:
            return
        spool_metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            driver = conn.connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            row = driver.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = ?", (inbox_spool.name,)
            ).fetchone()
            if row is None:
                driver.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                    (inbox_spool.name, largest_id),
                )
            elif int(row[0]) < largest_id:
                driver.execute(
                    "UPDATE sqlite_sequence SET seq = ? WHERE name = ?",
                    (largest_id, inbox_spool.name),
                )
        self.ready = True

    async def append(self, row: dict[str, Any]) -> int:
        """Append one entry (inbox_row's columns); its id once committed."""
        row = {**row, "body": packed(row["body"])}
        return await self.group.insert(self.insert.sql, self.insert.parameters(row))

    def take(self, after_id: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to `limit` rows past `after_id`, in id order: the id, then SPOOLED_COLUMNS
        as SQLite stores them (the inbox table stores them the same way, so they move
        without being converted), the body unpacked. A read of its own, which never
        waits for the spool's writer (WAL)."""
        if not self.readable():
            return []
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(_TAKE, (after_id, limit)).all()
        return [(*row[:_BODY_AT], unpacked(row[_BODY_AT]), *row[_BODY_AT + 1 :]) for row in rows]

    def records(self, after_id: int, since: datetime | None, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` rows past `after_id` (received at `since` or later), in id order,
        as the table's types read them and the body as it came: for a replay."""
        if not self.readable():
            return []
        query = sa.select(inbox_spool).where(inbox_spool.c.id > after_id)
        if since is not None:
            query = query.where(inbox_spool.c.received_at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(inbox_spool.c.id).limit(limit)).mappings().all()
        return [{**row, "body": unpacked(row["body"])} for row in rows]

    def spooled(self, after_id: int) -> Backlog:
        """What the spool holds past `after_id`: not yet in the main file, so not yet
        applied."""
        if not self.readable():
            return Backlog(0, 0, None)
        with self.engine.connect() as conn:
            entries, size, oldest = conn.execute(_COUNT, {"after": after_id}).one()
        return Backlog(int(entries), int(size), oldest)

    def row(self, entry_id: int) -> dict[str, Any] | None:
        if not self.readable():
            return None
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(inbox_spool).where(inbox_spool.c.id == entry_id))
            row = found.first()
        return None if row is None else dict(row._mapping)

    async def forget(self, up_to_id: int) -> None:
        """Delete the rows the main file holds now (ids up to `up_to_id`), if any are
        left: after the move's commit, never before."""
        if not self.readable():
            return
        with self.engine.connect() as conn:
            oldest = conn.execute(_OLDEST_ID).scalar()
        if oldest is not None and oldest <= up_to_id:
            await self.group.execute(_FORGET, (up_to_id,))

    async def close(self) -> None:
        await self.group.close()
        self.engine.dispose()
