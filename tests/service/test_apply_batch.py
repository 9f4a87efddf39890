"""Issue 18: a batch is applied without a savepoint per entry; when one entry raises, the
whole transaction is rolled back and the batch runs again entry by entry, so the entries
before the failing one are applied exactly once and the failing one alone is counted."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import make_url

from receiver.store import Repository
from receiver.store.draft_rows import DraftRows
from receiver.store.schema import episodes, inbox, incidents, timeline
from receiver.usecases import apply_inbox
from receiver.usecases.service import IncidentService
from tests.conftest import Clock, as_group, capture
from tests.http.test_quarantine import POISONED, POSTGRES_TRIGGER, SQLITE_TRIGGER
from tests.spies import calls_of


def poisoned(body: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    body["alerts"][0]["fingerprint"] = POISONED
    return body


async def count(service: IncidentService, statement: Any) -> int:
    async with service.db.read() as repo:
        return int(await repo.conn.scalar(statement) or 0)


async def test_an_entry_that_raises_rolls_back_alone_and_those_before_it_apply_once(
    service: IncidentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a batch ends early after a time bound; on a busy machine that could end this one
    # before it reaches the failing entry
    monkeypatch.setattr(apply_inbox, "BATCH_SECONDS", {True: 60.0, False: 60.0})

    async def trigger(repo: Repository) -> None:
        for statement in [SQLITE_TRIGGER] if service.db.is_sqlite else POSTGRES_TRIGGER:
            await repo.conn.execute(sa.text(statement))

    await service.db.run_write(trigger)
    good = as_group(capture("firing_group_3"), "before")
    ids = [
        await service.accept("alertmanager", json.dumps(body), None)
        for body in (good, poisoned(as_group(capture("firing_group_3"), "bad")), good)
    ]

    report = await service.apply_inbox.batch(64)

    # the first entry applied (once: the optimistic run's writes were rolled back), the
    # second failed alone and stopped the batch, the third waits behind it
    assert (report.applied, report.failed) == (1, 1)
    async with service.db.read() as repo:
        first, bad, third = [await repo.inbox.entry(entry_id) for entry_id in ids]
    assert first is not None
    assert bad is not None
    assert third is not None
    assert (first.state, first.outcome) == ("applied", "created")
    assert (bad.state, bad.attempts) == ("pending", 1)
    assert "refused by the poison trigger" in (bad.last_error or "")
    assert third.state == "pending"
    assert await count(service, sa.select(sa.func.count()).select_from(incidents)) == 1
    assert await count(service, sa.select(sa.func.count()).select_from(episodes)) == len(
        good["alerts"]
    )
    rows = await count(service, sa.select(sa.func.count()).select_from(timeline))
    assert rows > 0

    # the next batch takes the failing entry again first; the repeat of the first then
    # changes nothing
    await service.apply_inbox.batch(64)
    await service.apply_inbox.batch(64)
    async with service.db.read() as repo:
        bad_after = await repo.inbox.entry(ids[1])
        repeat = await repo.inbox.entry(ids[2])
    assert bad_after is not None
    assert bad_after.state == "quarantined"
    assert repeat is not None
    assert (repeat.state, repeat.outcome) == ("applied", "unchanged")
    assert await count(service, sa.select(sa.func.count()).select_from(timeline)) == rows
    pending = sa.select(sa.func.count()).select_from(inbox).where(inbox.c.pending.is_(True))
    assert await count(service, pending) == 0


def renders(service: IncidentService) -> float:
    sample = service.metrics.registry.get_sample_value(
        "postmortem_receiver_drafts_rendered_total", {"result": "stored"}
    )
    return sample or 0.0


async def test_a_batch_renders_an_incidents_draft_once_from_its_last_entry(
    service: IncidentService, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the resolve and the root cause behind it must land in one batch
    monkeypatch.setattr(apply_inbox, "BATCH_SECONDS", {True: 60.0, False: 60.0})
    firing = as_group(capture("firing_group_3"), "once")
    opened = await service.accept("alertmanager", json.dumps(firing), None)
    await service.apply_inbox.batch(64)
    async with service.db.read() as repo:
        entry = await repo.inbox.entry(opened)
    assert entry is not None
    assert entry.incident_id is not None
    incident_id = entry.incident_id

    clock.advance(minutes=30)
    resolved = as_group(capture("resolved_group_3"), "once")
    cause = {
        "type": "root-cause",
        "service": firing["commonLabels"]["service"],
        "message": "连接池上限被新版本改小",
        "actor": "alice",
        "incident_id": incident_id,
    }
    before = renders(service)
    ids = [
        await service.accept("alertmanager", json.dumps(resolved), None),
        await service.accept("event", json.dumps(cause), None),
    ]
    report = await service.apply_inbox.batch(64)

    # both entries applied in one batch, and one render wrote the draft for both: it
    # holds the recovery and the root cause reported after it
    assert report.applied == 2
    assert renders(service) - before == 1
    async with service.db.read() as repo:
        marks = [await repo.inbox.entry(entry_id) for entry_id in ids]
        drafts = await repo.draft_revisions(incident_id)
    assert [(m.state, m.incident_id, m.draft_revision) for m in marks if m] == [
        ("applied", incident_id, 1),
        ("applied", incident_id, 1),
    ]
    assert [d.revision for d in drafts] == [1]
    assert "连接池上限被新版本改小" in drafts[0].markdown


async def test_a_batch_writes_its_drafts_files_together_and_one_that_fails_waits_alone(
    service: IncidentService, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the three resolves, and later the three notes, must each land in one batch
    monkeypatch.setattr(apply_inbox, "BATCH_SECONDS", {True: 60.0, False: 60.0})
    directory = service.settings.drafts_dir
    assert directory is not None
    groups = [as_group(capture("firing_group_3"), f"files-{n}") for n in range(3)]
    for body in groups:
        await service.accept("alertmanager", json.dumps(body), None)
    await service.apply_inbox.batch(64)
    clock.advance(minutes=30)
    for n in range(3):
        body = as_group(capture("resolved_group_3"), f"files-{n}")
        await service.accept("alertmanager", json.dumps(body), None)
    marks = calls_of(monkeypatch, DraftRows, "mark_exported")
    with structlog.testing.capture_logs() as lines:
        assert (await service.apply_inbox.batch(64)).applied == 3
    # one write marked the batch's three drafts, each logged with its own incident
    assert [len(written) for (written,) in marks] == [3]
    logged = [line["incident_id"] for line in lines if line["event"] == "draft.written"]
    files = sorted(directory.iterdir())
    assert len(files) == 3
    async with service.db.read() as repo:
        assert await repo.pending_exports(10) == []  # all three marked written
        incident_ids = await repo.incident_ids_with_drafts()
        services = [(await repo.load_state(i)).incident.service for i in incident_ids]
    assert sorted(logged) == incident_ids

    # the second incident's file cannot be replaced (a directory took its name)
    blocked = files[1]
    blocked.unlink()
    blocked.mkdir()
    for incident_id, name in zip(incident_ids, services, strict=True):
        note: dict[str, Any] = {"type": "note", "service": name, "actor": "alice"}
        note.update(message="笔记", incident_id=incident_id)
        await service.accept("event", json.dumps(note), None)
    assert (await service.apply_inbox.batch(64)).applied == 3

    # the others were written and marked; the blocked one waits for the periodic pass
    written = {path.name: path for path in directory.iterdir() if path.is_file()}
    assert sorted(written) == sorted(path.name for path in (files[0], files[2]))
    assert all("笔记" in path.read_text(encoding="utf-8") for path in written.values())
    async with service.db.read() as repo:
        (waiting,) = await repo.pending_exports(10)
    assert waiting.file_name == blocked.name
    assert "笔记" in waiting.markdown
    blocked.rmdir()
    assert await service.drafts.retry_exports() == 1
    assert blocked.read_text(encoding="utf-8") == waiting.markdown


def refired(body: dict[str, Any]) -> dict[str, Any]:
    """The group firing again an hour later: new episodes of the same series."""
    body = json.loads(json.dumps(body))
    for alert in body["alerts"]:
        alert["startsAt"] = alert["startsAt"].replace("T19:", "T20:")
    return body


async def outcome_of(service: IncidentService, incident_ids: list[int]) -> list[Any]:
    """What the incidents hold, without their ids and names."""
    found = []
    async with service.db.read() as repo:
        for incident_id in incident_ids:
            state = await repo.load_state(incident_id)
            timeline_rows = await repo.timeline_of(incident_id)
            incident = state.incident
            found.append(
                (
                    incident.status,
                    incident.cycle,
                    incident.started_at,
                    incident.ended_at,
                    sorted((e.starts_at, e.resolved, e.cycle) for e in state.episodes.values()),
                    [(row.kind, row.at) for row in timeline_rows],
                )
            )
    return found


async def test_a_batch_places_its_webhooks_with_one_read_for_all_and_as_one_by_one(
    service: IncidentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apply_inbox, "BATCH_SECONDS", {True: 60.0, False: 60.0})
    reads_of_key = calls_of(monkeypatch, Repository, "latest_incident_by_key")
    incidents_read = calls_of(monkeypatch, Repository, "get_incident")

    def sequence(tag: str) -> list[dict[str, Any]]:
        group, other = capture("firing_group_3"), capture("repeat_notification")
        return [
            as_group(group, tag),
            as_group(other, tag),
            as_group(group, tag),  # a repeat: nothing new
            as_group(capture("resolved_group_3"), tag),  # recovers the first
            as_group(refired(group), tag),  # the first group fires again
            as_group(other, tag),  # a repeat of the second
        ]

    outcomes = []
    # the batch first: a batch reads about twice what the last one applied
    for tag, limit in (("batch", 64), ("solo", 1)):
        reads_of_key.clear()
        incidents_read.clear()
        ids = [
            await service.accept("alertmanager", json.dumps(body), None) for body in sequence(tag)
        ]
        while (await service.apply_inbox.batch(limit)).applied:
            pass
        async with service.db.read() as repo:
            entries = [await repo.inbox.entry(entry_id) for entry_id in ids]
        incident_ids = sorted({e.incident_id for e in entries if e and e.incident_id})
        assert all(e is not None and e.state == "applied" for e in entries)
        loads = len(incidents_read)  # before outcome_of reads them to compare
        outcomes.append((await outcome_of(service, incident_ids), len(reads_of_key), loads))

    (batched, batch_reads, batch_loads), (one_by_one, solo_reads, solo_loads) = outcomes
    # the same incidents, episodes and timelines either way
    assert batched == one_by_one
    # one by one, each webhook read its key's latest incident; in one batch none did:
    # the batch read them ahead and followed what its entries wrote
    assert solo_reads == 6
    assert batch_reads == 0
    # three webhooks changed an incident that was there already (the repeat, the
    # resolve, the second repeat): one by one each read it again to change it; in a
    # batch they change the state the batch stored for it
    assert solo_loads == 3
    assert batch_loads == 0


async def test_a_batch_changes_the_incidents_it_read_ahead_without_reading_each_again(
    service: IncidentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Incidents that were there before the batch: their states are read with the batch's
    read-ahead (held: locked on PostgreSQL), and each webhook changes its incident without
    a read of its own; what they end up holding is what one by one gives."""
    monkeypatch.setattr(apply_inbox, "BATCH_SECONDS", {True: 60.0, False: 60.0})
    loads = calls_of(monkeypatch, Repository, "load_state")
    held: list[int] = []
    states_of = Repository.states_of

    async def held_by_batch(repo: Repository, incidents_: Any) -> Any:
        states = await states_of(repo, incidents_)
        if not service.db.is_sqlite:  # another transaction cannot take them meanwhile
            url = make_url(service.settings.database_url).set(drivername="postgresql")
            conn = await asyncpg.connect(url.render_as_string(hide_password=False))
            try:
                for incident_id in states:
                    with pytest.raises(asyncpg.LockNotAvailableError):
                        await conn.fetch(
                            "SELECT id FROM incidents WHERE id = $1 FOR UPDATE NOWAIT",
                            incident_id,
                        )
                    held.append(incident_id)
            finally:
                await conn.close()
        held.extend(states if service.db.is_sqlite else ())
        return states

    monkeypatch.setattr(Repository, "states_of", held_by_batch)

    def opening(tag: str) -> list[dict[str, Any]]:
        group, other = capture("firing_group_3"), capture("repeat_notification")
        return [as_group(group, tag), as_group(other, tag)]

    def following(tag: str) -> list[dict[str, Any]]:
        group, other = capture("firing_group_3"), capture("repeat_notification")
        return [
            as_group(other, tag),  # a repeat of the second
            as_group(capture("resolved_group_3"), tag),  # recovers the first
            as_group(group, tag),  # the first fires again: its incident was written
        ]

    outcomes = []
    for tag, limit in (("batch", 64), ("solo", 1)):
        for bodies in (opening(tag), following(tag)):
            loads.clear()
            held.clear()
            ids = [await service.accept("alertmanager", json.dumps(b), None) for b in bodies]
            while (await service.apply_inbox.batch(limit)).applied:
                pass
        async with service.db.read() as repo:
            entries = [await repo.inbox.entry(entry_id) for entry_id in ids]
        assert all(e is not None and e.state == "applied" for e in entries)
        incident_ids = sorted({e.incident_id for e in entries if e and e.incident_id})
        applied_loads = list(loads)  # before outcome_of loads them to compare
        outcomes.append((await outcome_of(service, incident_ids), applied_loads, list(held)))

    (batched, batch_loads, batch_held), (one_by_one, solo_loads, _) = outcomes
    assert batched == one_by_one
    # one by one every webhook loads its incident; in the batch none does, the third
    # (whose incident the second had written) included
    assert len(solo_loads) == 3
    assert batch_loads == []
    assert len(batch_held) == 2
