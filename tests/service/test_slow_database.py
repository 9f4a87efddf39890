"""Issue 15: a slow database is not an internal error.

A table locked by another connection, or a pool with no free connection, makes the
receiver answer 503 with Retry-After within a bounded time
(RECEIVER_DATABASE_STATEMENT_TIMEOUT, RECEIVER_DATABASE_POOL_TIMEOUT), never hang and
never 500; once the database is free again, Alertmanager's retries go through and are
applied once. Real PostgreSQL: the lock is `LOCK TABLE incidents IN ACCESS EXCLUSIVE
MODE` held by another session. (SQLite's busy timeout is covered in test_http.py.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from receiver.store import open_database
from receiver.web.keys import DATABASE
from tests.conftest import as_group, capture
from tests.inbox import applied
from tests.processes import poll

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
JSON = {"Content-Type": "application/json"}
# far longer than the timeouts below add up to, far shorter than the lock is held: an
# answer that has not come by then is a hang
ANSWER_WITHIN = 8.0
# webhooks at once: more than the pool's connections (pool size 1, and 1 more in bursts)
CONCURRENT = 6

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


async def post(client: TestClient[Any, Any], body: dict[str, Any]) -> Any:
    return await client.post("/api/v1/alerts", data=json.dumps(body), headers=JSON)


async def post_applied(client: TestClient[Any, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Accepted (202), then what it did once applied (tests.inbox.applied)."""
    response = await post(client, body)
    assert response.status == 202, await response.text()
    return await applied(client, await response.json())


async def incident_count(client: TestClient[Any, Any]) -> int:
    response = await client.get("/api/v1/incidents")
    assert response.status == 200
    return int((await response.json())["total"])


async def assert_unavailable(response: Any) -> None:
    assert response.status == 503, await response.text()
    assert (await response.json())["error"] == "store_unavailable"
    assert int(response.headers["Retry-After"]) >= 1


async def test_locked_table_answers_503_with_retry_after_then_recovers(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], database_url: str
) -> None:
    settings = make_settings(
        database_statement_timeout="1s",
        database_pool_timeout="200ms",  # so the webhooks queued for a connection give up first
        database_pool_size=1,
        reconcile_interval=0,
    )
    client = await aiohttp_client(create_app(settings))
    assert (await post_applied(client, capture("firing_single")))["created"] is True
    groups = [as_group(capture("firing_group_3"), tag) for tag in range(CONCURRENT)]

    locker = await asyncpg.connect(database_url)
    try:
        async with locker.transaction():
            # the table the accept path writes: its webhooks wait, then give up
            await locker.execute("LOCK TABLE inbox IN ACCESS EXCLUSIVE MODE")
            async with asyncio.timeout(ANSWER_WITHIN):
                answers = await asyncio.gather(*(post(client, body) for body in groups))
                for answer in answers:
                    await assert_unavailable(answer)
                assert (await client.get("/healthz")).status == 200
    finally:
        await locker.close()

    # the lock is gone: Alertmanager's retry of each goes through, and once
    for body in groups:
        assert (await post_applied(client, body))["created"] is True
        assert (await post_applied(client, body))["status"] == "duplicate"
    assert await incident_count(client) == 1 + CONCURRENT


async def test_exhausted_pool_answers_503_in_bounded_time(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        database_pool_size=1, database_pool_timeout="200ms", reconcile_interval=0
    )
    app = create_app(settings)
    client = await aiohttp_client(app)
    engine = app[DATABASE].engine
    # every connection the pool may open (its size, and as many again in bursts) in use
    async with engine.connect(), engine.connect():
        async with asyncio.timeout(ANSWER_WITHIN):
            await assert_unavailable(await post(client, capture("firing_single")))
            ready = await client.get("/readyz")
        assert ready.status == 503
    assert (await post_applied(client, capture("firing_single")))["created"] is True
    assert await incident_count(client) == 1


async def test_migrations_wait_past_the_statement_timeout(database_url: str) -> None:
    """A replica that finds another migrating waits for it, however long that takes: the
    statement timeout is off for migrations."""
    database = open_database(database_url, statement_timeout=timedelta(milliseconds=200))
    holder = await asyncpg.connect(database_url)
    try:
        await holder.execute("SELECT pg_advisory_lock(x'706D72'::int)")  # the migration lock
        migrating = asyncio.create_task(database.migrate())

        # let go once the server says the migration has waited for the lock for twice the
        # statement timeout (had it been cancelled, the task is done, and fails below)
        async def waited_long() -> bool | None:
            if migrating.done():
                return True
            waiting = await holder.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE '%pg_advisory_xact_lock%'"
                " AND clock_timestamp() - query_start > interval '400 milliseconds'"
            )
            return True if waiting else None

        await poll("the migration waiting for the lock", waited_long, ANSWER_WITHIN)
        await holder.execute("SELECT pg_advisory_unlock(x'706D72'::int)")
        async with asyncio.timeout(ANSWER_WITHIN):
            state = await migrating
        assert state.is_current
    finally:
        await holder.close()
        await database.close()
