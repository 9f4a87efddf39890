"""The changes table on SQLite and PostgreSQL: stored once per (source, source_id), read
back by window and newest first, through the RecordChange use case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from receiver.config import Settings
from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from receiver.postmortem.render import DraftRenderer
from receiver.replay import ReplayClock, replay_inbox
from receiver.store import Database, open_configured_database
from receiver.usecases.record_change import RecordChange, inbox_kind
from receiver.usecases.service import IncidentService
from receiver.usecases.unit_of_work import UnitOfWork
from tests.conftest import FIXTURES, Clock
from tests.inbox import apply_all
from tests.service.conftest import replay_target

T0 = datetime(2026, 11, 26, 19, 0, 0, tzinfo=UTC)


def deploy(
    source_id: str, minutes: int, service: str = "payments", **fields: object
) -> ServiceChange:
    change = ServiceChange(
        source=ChangeSource.ARGOCD,
        source_id=source_id,
        type=ChangeType.DEPLOY,
        service=service,
        summary=f"payments-api 同步到 {source_id}",
        started_at=T0 + timedelta(minutes=minutes),
        finished_at=T0 + timedelta(minutes=minutes, seconds=40),
        namespace="prod",
        cluster="sh-1",
        object_kind="Application",
        object_name="payments-api",
        from_version="v2.31.0",
        to_version="v2.32.0",
        actor="张三",
        link="https://git.example.com/payments/commit/8f3a2c1",
        labels={"team": "pay", "environment": "prod"},
    )
    return replace(change, **fields)  # type: ignore[arg-type]


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = open_configured_database(settings)
    await db.migrate()
    yield db
    await db.close()


async def test_a_change_round_trips_with_every_field(database: Database, clock: Clock) -> None:
    record = RecordChange(UnitOfWork(database, clock))
    stored, created = await record(deploy("app@8f3a2c1", 0), inbox_id=7)
    assert created
    assert stored.id is not None
    async with database.read() as repo:
        [back] = await repo.changes.between(T0, T0 + timedelta(hours=1))
    assert back == stored
    assert back.labels == {"team": "pay", "environment": "prod"}
    assert back.started_at.tzinfo is not None
    assert back.finished_at == T0 + timedelta(seconds=40)


async def test_the_same_source_id_again_changes_nothing(database: Database, clock: Clock) -> None:
    record = RecordChange(UnitOfWork(database, clock))
    first, created = await record(deploy("app@8f3a2c1", 0))
    # a replayed delivery, even one whose words differ, keeps what was stored first
    again, created_again = await record(deploy("app@8f3a2c1", 5, summary="另一个说法"))
    assert created
    assert not created_again
    assert again == first
    # the same id from another source is another change
    other, other_created = await record(deploy("app@8f3a2c1", 0, source=ChangeSource.FLUX))
    assert other_created
    assert other.id != first.id
    async with database.read() as repo:
        assert len(await repo.changes.recent(None, None, 10)) == 2


async def test_between_takes_the_window_oldest_first(database: Database, clock: Clock) -> None:
    record = RecordChange(UnitOfWork(database, clock))
    for source_id, minutes in [("c", 30), ("a", 10), ("b", 10), ("before", -1), ("after", 61)]:
        await record(deploy(source_id, minutes))
    async with database.read() as repo:
        window = await repo.changes.between(T0, T0 + timedelta(hours=1))
    # started_at, then id: "a" was stored before "b" at the same minute
    assert [c.source_id for c in window] == ["a", "b", "c"]


async def test_recent_is_newest_first_by_service_and_since(
    database: Database, clock: Clock
) -> None:
    record = RecordChange(UnitOfWork(database, clock))
    await record(deploy("p1", 0))
    await record(deploy("k1", 5, service="checkout"))
    await record(deploy("p2", 10))
    await record(deploy("p3", 10))
    async with database.read() as repo:
        every = await repo.changes.recent(None, None, 10)
        payments = await repo.changes.recent("payments", None, 10)
        since = await repo.changes.recent("payments", T0 + timedelta(minutes=5), 10)
        limited = await repo.changes.recent(None, None, 2)
    assert [c.source_id for c in every] == ["p3", "p2", "k1", "p1"]
    assert [c.source_id for c in payments] == ["p3", "p2", "p1"]
    assert [c.source_id for c in since] == ["p3", "p2"]
    assert [c.source_id for c in limited] == ["p3", "p2"]


async def test_unknown_fields_stay_empty(database: Database, clock: Clock) -> None:
    bare = ServiceChange(
        source=ChangeSource.MANUAL,
        source_id="m1",
        type=ChangeType.CONFIG,
        service="payments",
        summary="调大连接池",
        started_at=T0,
    )
    stored, _ = await RecordChange(UnitOfWork(database, clock))(bare)
    assert stored == replace(bare, id=stored.id)
    async with database.read() as repo:
        [back] = await repo.changes.recent(None, None, 1)
    assert back == stored
    assert back.labels == {}


async def test_changes_through_the_inbox_are_applied_and_replayed_alike(
    settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    """Accepted bodies are applied behind by the inbox's applier; a replay into the same
    database changes nothing, into a fresh one stores the same changes."""
    feeds = [
        (ChangeSource.ARGOCD, "argocd/on-sync-succeeded.json"),
        (ChangeSource.ARGOCD, "argocd/on-deployed.json"),  # the same sync: a replay
        (ChangeSource.KUBERNETES, "kubernetes/deployment-scale.json"),
        (ChangeSource.MANUAL, "manual/deploy.json"),
    ]
    database = open_configured_database(settings)
    await database.migrate()
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)
    try:
        for source, name in feeds:
            body = (FIXTURES / "changes" / name).read_text(encoding="utf-8")
            await service.accept(inbox_kind(source), body, None)
            clock.advance(seconds=1)
        report = await apply_all(service)
        assert (report.applied, report.quarantined, report.failed) == (4, [], None)
        stored = await service.queries.recent_changes(service=None, since=None, limit=10)
        assert [c.source for c in stored] == [
            ChangeSource.KUBERNETES,
            ChangeSource.ARGOCD,
            ChangeSource.MANUAL,
        ]
        outcomes = [
            (entry.kind, entry.outcome)
            for entry in [await service.queries.inbox_entry(i) for i in range(1, 5)]
            if entry is not None
        ]
        assert outcomes == [
            ("change:argocd", "created"),
            ("change:argocd", "unchanged"),
            ("change:k8s", "created"),
            ("change:manual", "created"),
        ]
        again = await replay_inbox(service, service, ReplayClock())
        assert (again.applied, again.unchanged, again.failed) == (0, 4, 0)

        fresh_settings = settings.model_copy(
            update={"database_url": f"sqlite:///{tmp_path / 'fresh.db'}"}
        )
        async with replay_target(fresh_settings) as (fresh, replay_clock):
            into = await replay_inbox(service, fresh, replay_clock)
            assert (into.applied, into.unchanged, into.failed) == (3, 1, 0)
            copied = await fresh.queries.recent_changes(service=None, since=None, limit=10)
            assert [replace(c, id=None) for c in copied] == [replace(c, id=None) for c in stored]
    finally:
        await database.close()
