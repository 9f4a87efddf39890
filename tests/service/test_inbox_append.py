"""The accept path's batched append: every caller gets its own row's id, once committed,
with the bytes, digest and receipt time it gave; on both backends. And its look at the
stored backlog, read once for the requests that arrive together."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from receiver.store import StoreUnavailable, open_database
from receiver.store.inbox import Backlog, InboxStore
from receiver.store.schema import inbox
from receiver.usecases.service import IncidentService
from tests.conftest import capture

NOW = datetime(2026, 12, 7, 2, 15, tzinfo=UTC)


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
        async with database.read() as repo:
            backlog = await repo.inbox.backlog()
        assert backlog.entries == 301
    finally:
        await database.close()


async def test_sqlite_append_waits_for_another_process_lock(tmp_path: Path) -> None:
    """Another connection (a CLI command, say) holds the write lock: the append waits for
    it in a worker thread, and the event loop keeps running meanwhile."""
    path = tmp_path / "locked.db"
    database = open_database(f"sqlite:///{path}")
    await database.migrate()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
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
        assert entry_id == 1
    finally:
        other.close()
        await database.close()


async def test_sqlite_append_gives_up_after_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    database = open_database(f"sqlite:///{path}", statement_timeout=timedelta(milliseconds=200))
    await database.migrate()
    other = sqlite3.connect(path, isolation_level=None)
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
