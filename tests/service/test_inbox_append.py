"""The accept path's batched append: every caller gets its own row's id, once committed,
with the bytes, digest and receipt time it gave; on both backends. On SQLite it appends
to the inbox's own file (the spool), so it never waits behind the main file's writer,
and the applier moves the entries in with their ids. And its look at the stored backlog,
read once for the requests that arrive together."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from receiver.store import Database, Repository, StoreUnavailable, open_database
from receiver.store.inbox import Backlog, InboxStore
from receiver.store.schema import inbox
from receiver.store.spool import spool_path
from receiver.usecases.service import IncidentService
from tests.conftest import capture

NOW = datetime(2026, 12, 7, 2, 15, tzinfo=UTC)


async def moved_in(database: Database) -> None:
    """SQLite: the spool's entries moved into the inbox table, as the applier's batch
    moves them (in its transaction), then forgotten by the spool; PostgreSQL has none."""

    async def move(repo: Repository) -> int | None:
        return await database.move_spooled(repo, 100_000)

    moved = await database.run_write(move)
    if moved is not None:
        await database.forget_spooled(moved)


async def test_concurrent_appends_each_get_their_own_committed_row(database_url: str) -> None:
    database = open_database(database_url)
    await database.migrate()
    try:
        bodies = [f'{{"n": {n}, "text": "告警 {n}"}}' for n in range(300)]
        ids = await asyncio.gather(
            *(
                database.append_inbox("alertmanager", body, NOW + timedelta(seconds=n), f"c{n}")
                for n, body in enumerate(bodies)
            )
        )
        assert len(set(ids)) == len(ids)
        await moved_in(database)
        async with database.read() as repo:
            rows = {
                row.id: row
                for row in await repo.conn.execute(sa.select(inbox).order_by(inbox.c.id))
            }
        # each id names the row holding that caller's body, exactly as given
        for n, (entry_id, body) in enumerate(zip(ids, bodies, strict=True)):
            row = rows[entry_id]
            assert row.body == body
            assert row.kind == "alertmanager"
            assert row.credential == f"c{n}"
            assert row.body_bytes == len(body.encode())
            assert row.body_sha256 == hashlib.sha256(body.encode()).hexdigest()
            assert row.received_at == NOW + timedelta(seconds=n)
            assert row.pending is True
            assert row.attempts == 0
        # an append that starts once others were answered comes after them in the inbox
        # (concurrent appends have no order to keep: on PostgreSQL several statements run
        # at once, and whichever reaches the server first draws the lower ids)
        later = await database.append_inbox("alertmanager", "{}", NOW, None)
        assert later > max(ids)
        # on SQLite `later` is still in the spool: the backlog counts it too
        assert (await database.inbox_backlog()).entries == 301
        await moved_in(database)
        assert (await database.inbox_backlog()).entries == 301
    finally:
        await database.close()


async def test_sqlite_append_does_not_wait_for_the_main_files_writer(tmp_path: Path) -> None:
    """The applier (or a CLI command) holds the main file's write lock: an append still
    commits at once, to the inbox's own file, and the applier moves it in later."""
    path = tmp_path / "busy.db"
    database = open_database(f"sqlite:///{path}")
    await database.migrate()
    first = await database.append_inbox("event", "{}", NOW, None)
    await moved_in(database)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")  # the main file's writer, for as long as it likes
        entry_id = await asyncio.wait_for(database.append_inbox("event", "[1]", NOW, None), 10)
        assert entry_id > first
        entry = await database.inbox_entry(entry_id)
        assert entry is not None
        assert entry.state == "pending"
        other.execute("COMMIT")
        await moved_in(database)
        async with database.read() as repo:
            assert await repo.inbox.body(entry_id) == "[1]"
    finally:
        other.close()
        await database.close()


async def test_sqlite_append_waits_for_another_process_lock_on_the_spool(
    tmp_path: Path,
) -> None:
    """Another connection holds the spool's write lock: the append waits for it in a
    worker thread, and the event loop keeps running meanwhile."""
    path = tmp_path / "locked.db"
    database = open_database(f"sqlite:///{path}")
    await database.migrate()
    await database.append_inbox("event", "{}", NOW, None)  # the spool's file exists
    other = sqlite3.connect(spool_path(str(path)), isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        append = asyncio.ensure_future(database.append_inbox("event", "{}", NOW, None))
        # the loop serves other work while the append waits: these ticks all run, and
        # the append, its lock still held by the other connection, is still waiting
        ticks = [await asyncio.sleep(0.01, n) for n in range(20)]
        assert ticks == list(range(20))
        assert not append.done()
        other.execute("COMMIT")
        entry_id = await asyncio.wait_for(append, 10)
        assert entry_id == 2
    finally:
        other.close()
        await database.close()


async def test_sqlite_append_gives_up_after_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    database = open_database(f"sqlite:///{path}", statement_timeout=timedelta(milliseconds=200))
    await database.migrate()
    await database.append_inbox("event", "{}", NOW, None)
    other = sqlite3.connect(spool_path(str(path)), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(database.append_inbox("event", "{}", NOW, None), 10)
        other.execute("ROLLBACK")
        # the lock gone, the next append goes through
        assert await database.append_inbox("event", "{}", NOW, None) >= 1
    finally:
        other.close()
        await database.close()


async def test_sqlite_spool_ids_stay_above_the_inbox_tables(tmp_path: Path) -> None:
    """A spool new beside a database whose inbox already holds entries (a receiver
    upgraded, or its spool file lost) never hands out an id the table has."""
    path = tmp_path / "older.db"
    database = open_database(f"sqlite:///{path}")
    await database.migrate()
    async with database.write() as repo:
        for _ in range(5):
            await repo.inbox.append("event", "{}", NOW, None)
    try:
        assert await database.append_inbox("event", "[6]", NOW, None) == 6
        await moved_in(database)
        async with database.read() as repo:
            assert await repo.inbox.body(6) == "[6]"
            assert (await repo.inbox.backlog()).entries == 6
    finally:
        await database.close()


async def test_concurrent_accepts_read_the_stored_backlog_once(
    service: IncidentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The accept path reads the stored backlog now and then (issue 18); requests that
    arrive while one read runs take its figures instead of each scanning the inbox."""
    reads: list[int] = []
    backlog = InboxStore.backlog

    async def counted(store: InboxStore) -> Backlog:
        reads.append(1)
        return await backlog(store)

    monkeypatch.setattr(InboxStore, "backlog", counted)
    body = json.dumps(capture("firing_single"))
    ids = await asyncio.gather(*(service.accept("alertmanager", body, None) for _ in range(20)))
    assert len(set(ids)) == 20  # each accepted
    assert len(reads) == 1
