"""On PostgreSQL a batch's writes are held and sent together (held_writes.py), and the
incidents it reads ahead are read with their states: a batch sends as many statements
whatever its size, and what it stores is what one by one stores (test_apply_batch.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from receiver.config import load_settings
from receiver.store.connection import PostgresConnection
from receiver.usecases import apply_inbox
from receiver.usecases.service import IncidentService
from tests.conftest import Clock, as_group, capture, fresh_postgres_database
from tests.service.conftest import service_on


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from fresh_postgres_database()


@pytest.fixture
async def postgres_service(
    postgres_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[IncidentService]:
    settings = load_settings(
        database_url=postgres_url, drafts_dir=tmp_path / "drafts", log_format="json"
    )
    async with service_on(settings, clock) as service:
        yield service


async def test_a_batch_sends_as_many_statements_whatever_its_size(
    postgres_service: IncidentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = postgres_service
    monkeypatch.setattr(apply_inbox, "BATCH_SECONDS", {True: 60.0, False: 60.0})
    sent: list[Any] = []
    run = PostgresConnection._run

    async def counted(self: PostgresConnection, statement: Any, parameters: Any) -> Any:
        sent.append(statement)
        return await run(self, statement, parameters)

    monkeypatch.setattr(PostgresConnection, "_run", counted)
    statements: dict[tuple[int, str], int] = {}
    for size in (4, 32):
        groups = [as_group(capture("firing_group_3"), f"{size}-{n}") for n in range(size)]
        for phase in ("open", "repeat"):
            ids = [await service.accept("alertmanager", json.dumps(b), None) for b in groups]
            sent.clear()
            report = await service.apply_inbox.batch(64)
            assert report.applied == size
            statements[size, phase] = len(sent)
            async with service.db.read() as repo:
                entries = [await repo.inbox.entry(entry_id) for entry_id in ids]
            incident_ids = [e.incident_id for e in entries if e and e.incident_id]
            assert len(incident_ids) == size
            # opened in inbox order, with ascending ids as ever
            assert incident_ids == sorted(incident_ids)
            assert len(set(incident_ids)) == size
            if phase == "open":
                assert [e.outcome for e in entries if e] == ["created"] * size
    # eight times the webhooks, the same statements: none is sent per webhook
    assert statements[4, "open"] == statements[32, "open"]
    assert statements[4, "repeat"] == statements[32, "repeat"]
    assert statements[32, "open"] < 20
    assert statements[32, "repeat"] < 20
