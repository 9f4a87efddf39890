"""Pooled PostgreSQL connections that the server closed are replaced, not used."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from receiver.store import open_database
from tests.conftest import POSTGRES_URL, fresh_postgres_database


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from fresh_postgres_database()


async def test_connections_the_server_closed_are_replaced(postgres_url: str) -> None:
    database = open_database(postgres_url, pool_size=2)
    try:
        await database.migrate()
        await database.ping()  # the pool now holds an idle connection
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                make_url(postgres_url).database,
            )
        finally:
            await admin.close()
        assert ended >= 1
        # the loop runs on (a restart takes longer than this): the driver sees the
        # closed sockets, and the next uses get new connections, not errors
        await asyncio.sleep(0.1)
        for _ in range(3):
            await database.ping()
            assert (await database.schema_state()).is_current
    finally:
        await database.close()
