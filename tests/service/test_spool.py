"""SQLite's inbox file (the spool, receiver/store/spool.py): the accept path appends
there, the applier moves the entries into the main file with their ids, and the spool
forgets them once the applier has caught up (or every FORGET_EVERY entries while it
drains a backlog), so that it never grows without bound."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing

import pytest
import sqlalchemy as sa

from receiver.config import Settings
from receiver.store.schema import inbox
from receiver.store.spool import spool_path
from receiver.usecases import apply_inbox
from receiver.usecases.service import IncidentService
from tests.conftest import as_group, capture


def spooled_ids(settings: Settings) -> list[int]:
    path = spool_path(settings.database_url.removeprefix("sqlite:///"))
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM inbox_spool ORDER BY id")]


async def accept_groups(service: IncidentService, count: int) -> list[int]:
    body = capture("firing_single")
    return [
        await service.accept("alertmanager", json.dumps(as_group(body, tag)), None)
        for tag in range(count)
    ]


async def test_the_spool_forgets_what_was_applied_once_caught_up(
    service: IncidentService, settings: Settings
) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL appends to the inbox table itself")
    ids = await accept_groups(service, 5)
    assert spooled_ids(settings) == ids  # accepted: in the spool, not yet in the main file
    report = await service.apply_inbox.batch(64)
    assert report.applied == 5
    assert not report.full  # caught up: the spool forgot them
    assert spooled_ids(settings) == []
    async with service.db.read() as repo:
        moved = [row.id for row in await repo.conn.execute(sa.select(inbox.c.id))]
        assert sorted(moved) == ids
        assert (await repo.inbox.backlog()).entries == 0


async def test_while_draining_the_spool_forgets_every_so_many(
    service: IncidentService, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL appends to the inbox table itself")
    monkeypatch.setattr(apply_inbox, "FORGET_EVERY", 4)
    ids = await accept_groups(service, 9)
    first = await service.apply_inbox.batch(3)  # a full batch: behind, 3 moved
    assert first.full
    assert spooled_ids(settings) == ids  # fewer than FORGET_EVERY: kept for now
    second = await service.apply_inbox.batch(3)
    assert second.full
    assert spooled_ids(settings) == ids[6:]  # six moved: forgotten
    third = await service.apply_inbox.batch(3)
    assert third.full  # it took all it asked for; one more look finds none
    last = await service.apply_inbox.batch(3)
    assert (last.applied, last.full) == (0, False)
    assert spooled_ids(settings) == []
    assert (await service.queries.inbox_backlog()).entries == 0


async def test_bodies_are_spooled_compressed_and_move_as_they_came(
    service: IncidentService, settings: Settings
) -> None:
    """The spool keeps a body compressed (a storm's repetitive bodies take a
    fortieth of their size to write and sync); the main file gets the text it came as,
    and a text body an older spool left is moved as it is."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL appends to the inbox table itself")
    sent = [json.dumps(as_group(capture("firing_group_3"), tag)) for tag in range(2)]
    new_id = await service.accept("alertmanager", sent[0], None)
    path = spool_path(settings.database_url.removeprefix("sqlite:///"))
    with closing(sqlite3.connect(path)) as conn:
        kept, size = conn.execute(
            "SELECT body, body_bytes FROM inbox_spool WHERE id = ?", (new_id,)
        ).fetchone()
        assert isinstance(kept, bytes)
        assert len(kept) < len(sent[0].encode()) / 3
        assert size == len(sent[0].encode())
        # as a spool written before bodies were compressed holds them
        conn.execute(
            "INSERT INTO inbox_spool (received_at, kind, body, body_sha256, body_bytes, "
            "credential) SELECT received_at, kind, ?, ?, ?, credential "
            "FROM inbox_spool WHERE id = ?",
            (sent[1], hashlib.sha256(sent[1].encode()).hexdigest(), len(sent[1].encode()), new_id),
        )
        conn.commit()
        old_id = conn.execute("SELECT max(id) FROM inbox_spool").fetchone()[0]
    report = await service.apply_inbox.batch(64)
    assert report.applied == 2
    async with service.db.read() as repo:
        rows = await repo.conn.execute(
            sa.select(inbox.c.id, inbox.c.body, inbox.c.incident_id).order_by(inbox.c.id)
        )
        moved = {row.id: (row.body, row.incident_id) for row in rows}
    assert [moved[new_id][0], moved[old_id][0]] == sent
    assert moved[new_id][1] is not None
    assert moved[old_id][1] is not None
    assert moved[new_id][1] != moved[old_id][1]  # two groups, each applied
