"""SQLite's inbox file (the spool, receiver/store/spool.py): the accept path appends
there, the applier moves the entries into the main file with their ids, and the spool
forgets them once the applier has caught up (or every FORGET_EVERY entries while it
drains a backlog), so that it never grows without bound."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa

from receiver.config import Settings
from receiver.replay import replay_inbox
from receiver.store import Repository
from receiver.store.schema import inbox
from receiver.store.spool import COMPRESSED_FROM, spool_path
from receiver.usecases import apply_inbox
from receiver.usecases.service import IncidentService
from tests.conftest import Clock, as_group, capture
from tests.http.test_quarantine import POISONED, SQLITE_TRIGGER
from tests.service.conftest import replay_target, service_on


@pytest.fixture(autouse=True)
def batches_take_what_they_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch on SQLite stops taking entries after BATCH_SECONDS, which a busy machine
    reaches with a handful: these tests count what each batch moves."""
    monkeypatch.setattr(apply_inbox, "BATCH_SECONDS", {True: 60.0, False: 60.0})


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
    """The spool keeps a long body compressed (a storm's repetitive bodies take a
    fortieth of their size to write and sync) and a short one as it came; the main file
    gets the text each came as."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL appends to the inbox table itself")
    long_body = capture("firing_group_3")
    while len(json.dumps(long_body)) < COMPRESSED_FROM:  # more alerts, as a storm has
        long_body["alerts"] += long_body["alerts"]
    sent = [
        json.dumps(as_group(long_body, "long")),
        json.dumps(as_group(capture("firing_group_3"), "short")),
    ]
    long_id, short_id = [await service.accept("alertmanager", body, None) for body in sent]
    path = spool_path(settings.database_url.removeprefix("sqlite:///"))
    with closing(sqlite3.connect(path)) as conn:
        kept = dict(conn.execute("SELECT id, body FROM inbox_spool").fetchall())
        sizes = dict(conn.execute("SELECT id, body_bytes FROM inbox_spool").fetchall())
    assert isinstance(kept[long_id], bytes)
    assert len(kept[long_id]) < len(sent[0].encode()) / 3
    assert kept[short_id] == sent[1]
    assert [sizes[long_id], sizes[short_id]] == [len(body.encode()) for body in sent]
    report = await service.apply_inbox.batch(64)
    assert report.applied == 2
    async with service.db.read() as repo:
        rows = await repo.conn.execute(
            sa.select(inbox.c.id, inbox.c.body, inbox.c.incident_id).order_by(inbox.c.id)
        )
        moved = {row.id: (row.body, row.incident_id) for row in rows}
    assert [moved[long_id][0], moved[short_id][0]] == sent
    assert moved[long_id][1] is not None
    assert moved[short_id][1] is not None
    assert moved[long_id][1] != moved[short_id][1]  # two groups, each applied


async def test_a_dropped_entry_does_not_come_back_from_the_spool(
    make_settings: Callable[..., Settings], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quarantined entry, dropped while the spool still holds its copy (moved, not yet
    forgotten): the next move must not take that copy back into the inbox table."""
    settings = make_settings(inbox_max_attempts=1)
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL appends to the inbox table itself")
    monkeypatch.setattr(apply_inbox, "FORGET_EVERY", 1_000_000)
    async with service_on(settings, clock) as service:

        async def trigger(repo: Repository) -> None:
            await repo.conn.execute(sa.text(SQLITE_TRIGGER))

        await service.db.run_write(trigger)
        good = as_group(capture("firing_single"), "good")
        bad = json.loads(json.dumps(as_group(capture("firing_single"), "bad")))
        bad["alerts"][0]["fingerprint"] = POISONED
        later = as_group(capture("firing_single"), "later")
        ids = [
            await service.accept("alertmanager", json.dumps(body), None)
            for body in (good, bad, later)
        ]
        first = await service.apply_inbox.batch(2)  # good and bad moved; bad quarantined
        assert (first.applied, first.quarantined) == (1, [ids[1]])
        assert spooled_ids(settings) == ids  # a full batch: nothing forgotten yet
        assert await service.quarantine.drop(ids[1])
        assert spooled_ids(settings) == ids[2:]
        rest = await service.apply_inbox.batch(64)
        assert rest.applied == 1
        async with service.db.read() as repo:
            kept = [row.id for row in await repo.conn.execute(sa.select(inbox.c.id))]
        assert sorted(kept) == [ids[0], ids[2]]


async def test_a_replay_reads_what_only_the_spool_holds(
    service: IncidentService,
    settings: Settings,
    make_settings: Callable[..., Settings],
    clock: Clock,
    tmp_path: Path,
) -> None:
    """Webhooks accepted and not yet applied (on SQLite still in the spool) are replayed
    too, after what the inbox table holds."""
    fired = as_group(capture("firing_single"), "spooled")
    resolved = as_group(capture("resolved_single"), "spooled")
    applied_first = as_group(capture("firing_single"), "applied")
    await service.accept("alertmanager", json.dumps(applied_first), None)
    assert (await service.apply_inbox.batch(64)).applied == 1
    for body in (fired, resolved):
        await service.accept("alertmanager", json.dumps(body), None)
    fresh = make_settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}")
    async with replay_target(fresh) as (target, replay_clock):
        report = await replay_inbox(service, target, replay_clock)
        assert (report.applied, report.failed) == (3, 0)
        _, total = await target.queries.list_incidents(limit=10, offset=0)
    assert total == 2


async def test_reading_never_creates_the_spool(
    make_settings: Callable[..., Settings], clock: Clock, tmp_path: Path
) -> None:
    """What only reads (the commands, a replay from another database) finds no spool
    where there is none and creates none: it may run beside a database it may not write.
    Once the server has one, the same reads see what it holds."""
    if not make_settings().database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no spool")
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'read.db'}")
    path = spool_path(str(tmp_path / "read.db"))
    async with service_on(settings, clock) as reader:
        assert (await reader.queries.inbox_backlog()).entries == 0
        assert await reader.queries.inbox_entry(1) is None
        assert await reader.queries.inbox(since=None, incident_id=None, after_id=0, limit=10) == []
        assert not path.exists()
        async with service_on(settings, clock) as server:
            entry_id = await server.accept(
                "alertmanager", json.dumps(capture("firing_single")), None
            )
        assert path.exists()
        assert (await reader.queries.inbox_backlog()).entries == 1
        entry = await reader.queries.inbox_entry(entry_id)
        assert entry is not None
        assert entry.state == "pending"
        [record] = await reader.queries.inbox(since=None, incident_id=None, after_id=0, limit=10)
        assert record.id == entry_id
