"""Schema migrations on both backends: empty to head, previous revision with data, too new."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.store.engine import alembic_config
from receiver.store.schema import metadata
from receiver.usecases.service import IncidentService
from tests.conftest import REPO, capture_text


def _downgrade_to(sync_conn: sa.Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_conn
    command.downgrade(config, revision)


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


async def test_replicas_migrating_at_once_do_not_collide(settings: Settings) -> None:
    """Two engines (as two replicas) upgrading one empty database at the same moment."""
    first, second = open_configured_database(settings), open_configured_database(settings)
    try:
        states = await asyncio.gather(first.migrate(), second.migrate())
        assert all(state.is_current for state in states)
    finally:
        await first.close()
        await second.close()


async def test_postgresql_compresses_inbox_bodies_with_lz4_and_back(settings: Settings) -> None:
    """Migration 0017: an inbox body is compressed with lz4 where the server has it (a
    storm's append took a third of the time pglz took), and with the server's default
    again after a downgrade."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite stores the text as it is")
    database = open_configured_database(settings)
    compression = sa.text(
        "SELECT attcompression::text FROM pg_attribute "
        "WHERE attrelid = 'inbox'::regclass AND attname = 'body'"
    )
    has_lz4 = sa.text(
        "SELECT 1 FROM pg_settings "
        "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
    )
    try:
        await database.migrate()
        async with database.read() as repo:
            if (await repo.conn.execute(has_lz4)).first() is None:
                pytest.skip("this PostgreSQL was built without lz4")
            assert await repo.conn.scalar(compression) == "l"
        async with database.write() as repo:
            await repo.conn.run_sync(_downgrade_to, "0016")
        async with database.read() as repo:
            assert await repo.conn.scalar(compression) == ""  # the server's default
    finally:
        await database.close()
