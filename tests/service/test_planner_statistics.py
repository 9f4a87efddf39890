"""PostgreSQL: the applier has the tables it grows analyzed once they have grown by a
tenth (and MIN_ROWS), rather than waiting for autovacuum's next look: a storm on a
young database was planned from the statistics of its empty tables."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import sqlalchemy as sa

from receiver.store import statistics
from receiver.usecases import apply_inbox
from receiver.usecases.service import IncidentService
from tests.conftest import as_group, capture

ANALYZED = sa.text(
    "SELECT relname, last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables "
    "WHERE relname IN ('incidents', 'episodes', 'timeline') ORDER BY relname"
)


async def analyzed(service: IncidentService) -> dict[str, bool]:
    """Which tables a manual ANALYZE (not autovacuum's) has analyzed."""
    async with service.db.engine.connect() as conn:
        return {row.relname: row.analyzed for row in await conn.execute(ANALYZED)}


async def test_the_tables_a_batch_grew_are_analyzed_once_due(
    service: IncidentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    if service.db.is_sqlite:
        pytest.skip("SQLite plans without collected statistics")
    monkeypatch.setattr(apply_inbox, "BATCH_SECONDS", {True: 60.0, False: 60.0})
    monkeypatch.setattr(statistics, "MIN_ROWS", 20)
    body = capture("firing_group_3")  # an incident, 3 alerts, a few timeline rows
    await service.accept("alertmanager", json.dumps(as_group(body, "first")), None)
    await service.apply_inbox.batch(64)  # the tables' size is read; nothing is due
    assert await analyzed(service) == {"episodes": False, "incidents": False, "timeline": False}

    for tag in range(4):  # more than MIN_ROWS rows
        await service.accept("alertmanager", json.dumps(as_group(body, tag)), None)
    await service.apply_inbox.batch(64)
    # the statistics views show an ANALYZE once the server has reported it
    deadline = time.monotonic() + 10
    for _ in range(1000):
        found = await analyzed(service)
        if all(found.values()) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert found == {"episodes": True, "incidents": True, "timeline": True}
