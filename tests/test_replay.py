"""The inbox: replay into a fresh database or the same one, and retention."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.store.schema import inbox, timeline
from receiver.usecases.record_event import ManualEvent
from receiver.usecases.service import IncidentService
from tests.conftest import REPO, Clock, capture, capture_text


async def fill(settings: Settings, clock: Clock) -> None:
    database = open_configured_database(settings)
    await database.migrate()
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)
    try:
        await service.ingest_webhook(
            Webhook.parse(capture("firing_group_3")), capture_text("firing_group_3")
        )
        for kind, key in (("ack", None), ("rollback", "rb-1"), ("note", None)):
            clock.advance(minutes=2)
            fields: dict[str, Any] = {
                "type": kind,
                "service": "payments",
                "message": kind,
                "actor": "lisi",
            }
            if key:
                fields["idempotency_key"] = key
            event = ManualEvent.model_validate(fields)
            await service.record_event(event, json.dumps(fields))
        clock.advance(minutes=2)
        await service.ingest_webhook(
            Webhook.parse(capture("resolved_group_3")), capture_text("resolved_group_3")
        )
    finally:
        await database.close()


async def rows(settings: Settings) -> tuple[list[tuple[Any, ...]], int]:
    database = open_configured_database(settings)
    try:
        async with database.read() as repo:
            found = (
                await repo.conn.execute(
                    sa.select(
                        timeline.c.kind, timeline.c.actor, timeline.c.at, timeline.c.dedup_key
                    ).order_by(timeline.c.at, timeline.c.kind)
                )
            ).all()
            kept = await repo.conn.scalar(sa.select(sa.func.count()).select_from(inbox))
        # sorted here: PostgreSQL and SQLite collate text differently
        ordered = sorted(found, key=lambda row: (row.at, row.kind, row.dedup_key))
        return [tuple(row) for row in ordered], int(kept or 0)
    finally:
        await database.close()


async def replay(settings: Settings, *args: str) -> str:
    env = {
        "RECEIVER_DATABASE_URL": settings.database_url,
        "PATH": "/usr/bin:/bin",
        "RECEIVER_DRAFTS_DIR": "",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "receiver",
        "replay",
        *args,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_replay_into_the_same_database_changes_nothing(
    settings: Settings, clock: Clock
) -> None:
    await fill(settings, clock)
    before = await rows(settings)
    output = await replay(settings)
    assert "0 applied, 5 already applied, 0 failed" in output
    assert await rows(settings) == before  # nothing doubled, no body stored twice


async def test_replay_into_a_fresh_database_rebuilds_the_same_timeline(
    settings: Settings, make_settings: Callable[..., Settings], clock: Clock, tmp_path: Path
) -> None:
    await fill(settings, clock)
    fresh = make_settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}")
    env_args = ("--from-database", settings.database_url)
    output = await replay(fresh, *env_args)
    assert "5 applied, 0 already applied, 0 failed" in output
    original, _ = await rows(settings)
    rebuilt, kept = await rows(fresh)
    assert rebuilt == original
    assert kept == 0  # a replay applies bodies, it does not store them again
    output = await replay(fresh, *env_args, "--since", "2026-11-26T19:13:00Z")
    assert "0 applied" in output


async def test_retention_prunes_old_bodies(settings: Settings, clock: Clock) -> None:
    await fill(settings, clock)
    database = open_configured_database(settings)
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)
    try:
        assert await service.queries.prune_inbox(clock.now - timedelta(minutes=3)) == 3
        assert (
            len(await service.queries.inbox(since=None, incident_id=None, after_id=0, limit=10))
            == 2
        )
    finally:
        await database.close()
