"""`replay` as a command: into the same database, and into a fresh one."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from receiver.config import Settings
from receiver.store import open_configured_database
from receiver.store.schema import inbox, timeline
from tests.conftest import REPO, Clock
from tests.service.test_replay import fill


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
        "RECEIVER_LANGUAGE": "en",
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
