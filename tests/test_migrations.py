"""Schema migrations on both backends: empty to head, previous revision with data, too new."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from receiver.postmortem.render import DraftRenderer
from receiver.store import SchemaError, open_configured_database
from receiver.store.schema import metadata
from receiver.usecases.service import IncidentService
from tests.conftest import REPO, capture_text

# the newest migration's revision: the files are numbered like their revisions
HEAD = max(path.name[:4] for path in (REPO / "receiver/migrations/versions").glob("0*.py"))


async def test_empty_database_upgrades_to_head_matching_the_models(settings: Settings) -> None:
    database = open_configured_database(settings)
    try:
        before = await database.schema_state()
        assert before.current is None
        after = await database.migrate()
        assert after.is_current
        async with database.read() as repo:
            diff = await repo.conn.run_sync(
                lambda conn: compare_metadata(MigrationContext.configure(conn), metadata)
            )
        assert diff == [], "receiver/store/schema.py and the migrations disagree"
        again = await database.migrate()  # idempotent
        assert again == after
    finally:
        await database.close()


async def test_previous_revision_with_data_upgrades_without_loss(settings: Settings) -> None:
    database = open_configured_database(settings)
    body = capture_text("firing_single")
    try:
        await database.upgrade("0001")
        async with database.write() as repo:
            # rows written the way the 0001 code wrote them
            await repo.conn.execute(
                sa.text(
                    "INSERT INTO inbox (received_at, kind, incident_id, body) "
                    "VALUES (:at, 'alertmanager', NULL, :body)"
                ),
                [{"at": datetime(2026, 11, 26, 19, 10 + i), "body": body} for i in range(3)],
            )
        await database.migrate()
        async with database.read() as repo:
            rows = (await repo.conn.execute(sa.text("SELECT body, body_sha256 FROM inbox"))).all()
        assert [r.body for r in rows] == [body] * 3
        assert {r.body_sha256 for r in rows} == {hashlib.sha256(body.encode()).hexdigest()}
        # and the upgraded database works for the current code
        service = IncidentService(database, settings, DraftRenderer())
        result = await service.ingest_webhook(Webhook.parse(json.loads(body)), body)
        assert result.created
    finally:
        await database.close()


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
    env = {**os.environ, "RECEIVER_DATABASE_URL": settings.database_url}
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


async def test_replicas_migrating_at_once_do_not_collide(settings: Settings) -> None:
    """Two engines (as two replicas) upgrading one empty database at the same moment."""
    first, second = open_configured_database(settings), open_configured_database(settings)
    try:
        states = await asyncio.gather(first.migrate(), second.migrate())
        assert all(state.is_current for state in states)
    finally:
        await first.close()
        await second.close()
