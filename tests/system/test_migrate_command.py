"""`migrate` and `serve` as processes: a schema newer than the code, what `migrate` reports."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from receiver.config import Settings
from receiver.store import SchemaError, open_configured_database
from tests.conftest import REPO

# the newest migration's revision: the files are numbered like their revisions
HEAD = max(path.name[:4] for path in (REPO / "receiver/migrations/versions").glob("0*.py"))


async def test_schema_newer_than_code_is_refused(
    settings: Settings, make_settings: Callable[..., Settings]
) -> None:
    database = open_configured_database(settings)
    try:
        await database.migrate()
        async with database.write() as repo:
            await repo.conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00d'"))
        with pytest.raises(
            SchemaError, match=r"revision f00d, which this version .* does not know"
        ):
            await database.migrate()
    finally:
        await database.close()
    env: dict[str, Any] = {
        **os.environ,
        "RECEIVER_DATABASE_URL": settings.database_url,
        "RECEIVER_LISTEN": "127.0.0.1:0",
        "RECEIVER_LOG_FORMAT": "json",
        "RECEIVER_LANGUAGE": "en",
    }
    for command in ("migrate", "serve"):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "receiver",
            command,
            env=env,
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 1, (command, stderr)
        assert b"schema is at revision f00d" in stderr


def test_migrate_command_reports_what_it_did(settings: Settings) -> None:
    env = {**os.environ, "RECEIVER_DATABASE_URL": settings.database_url, "RECEIVER_LANGUAGE": "en"}
    first = subprocess.run(
        [sys.executable, "-m", "receiver", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert first.returncode == 0, first.stderr
    assert f"migrated schema from empty to {HEAD}" in first.stdout
    second = subprocess.run(
        [sys.executable, "-m", "receiver", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert f"schema is current (revision {HEAD})" in second.stdout
