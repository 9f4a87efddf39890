"""Issue 18, several replicas on PostgreSQL: any replica accepts, exactly one applies,
holding a lease in the database; when it dies (SIGKILL), another takes over within a few
seconds and nothing accepted is lost or applied twice."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.conftest import as_group, capture, fresh_postgres_database
from tests.inbox import applied, drained
from tests.processes import AUTH, Service, get_json, poll, start_receiver

JSON = {"Content-Type": "application/json"}
GROUPS = 20  # per phase
TAKEOVER_SECONDS = 15  # the lease (3 s) plus the poll, with a wide margin for a busy machine


async def holder(database_url: str) -> str | None:
    conn = await asyncpg.connect(database_url)
    try:
        value = await conn.fetchval("SELECT holder FROM inbox_applier WHERE name = 'applier'")
    finally:
        await conn.close()
    return None if value is None else str(value)


async def post_groups(
    http: aiohttp.ClientSession, replicas: list[Service], tags: range
) -> list[dict[str, Any]]:
    """One new group per tag, each to every replica (an HA pair's duplicates)."""
    answers = []
    for tag in tags:
        body = json.dumps(as_group(capture("firing_group_3"), tag))
        for replica in replicas:
            url = f"{replica.base_url}/api/v1/alerts"
            async with http.post(url, data=body, headers={**AUTH, **JSON}) as response:
                assert response.status == 202, await response.text()
                answers.append({"replica": replica, **await response.json()})
    return answers


@pytest.fixture
def database_url() -> Iterator[str]:
    yield from fresh_postgres_database()


async def test_the_applier_fails_over_between_two_replicas(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str
) -> None:
    started = []
    for name in ("replica-a", "replica-b"):
        (tmp_path / name).mkdir()
        started.append(
            await asyncio.to_thread(
                start_receiver, request, tmp_path / name, database_url=database_url, name=name
            )
        )
    replicas = [service for service, _ in started]
    pids = {process.pid: (service, process) for service, process in started}
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        # both accept; one applies, and holds the lease
        first = await post_groups(http, replicas, range(GROUPS))
        for answer in first:
            result = await applied(http, answer, base=answer["replica"].base_url, headers=AUTH)
            assert result["entry"]["state"] == "applied"
        leader = await holder(database_url)
        assert leader is not None
        leader_pid = int(leader.split(":")[1])
        assert leader_pid in pids, (leader, list(pids))
        dead, process = pids[leader_pid]
        survivor = next(service for service in replicas if service is not dead)

        # the leader dies; the survivor keeps accepting, and takes over the applying
        process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        second = await post_groups(http, [survivor], range(GROUPS, 2 * GROUPS))

        async def taken_over() -> str | None:
            current = await holder(database_url)
            return current if current is not None and current != leader else None

        new_leader = await poll("another replica to take the lease", taken_over, TAKEOVER_SECONDS)
        took = time.monotonic() - killed_at
        assert int(new_leader.split(":")[1]) != leader_pid
        await drained(http, base=survivor.base_url, headers=AUTH, seconds=TAKEOVER_SECONDS)
        for answer in second:
            result = await applied(http, answer, base=survivor.base_url, headers=AUTH)
            assert result["created"] is True, result

        # exactly once: one incident per group, each with its three alerts
        listing = await get_json(http, f"{survivor.base_url}/api/v1/incidents?limit=500")
        assert listing["total"] == 2 * GROUPS
        keys = [incident["group_key"] for incident in listing["incidents"]]
        assert len(set(keys)) == 2 * GROUPS
    conn = await asyncpg.connect(database_url)
    try:
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM episodes) AS episodes,"
            " (SELECT count(*) FROM timeline) AS timeline,"
            " (SELECT count(*) FROM inbox WHERE pending) AS pending,"
            " (SELECT count(*) FROM inbox) AS inbox"
        )
    finally:
        await conn.close()
    assert dict(counts) == {
        "episodes": 3 * 2 * GROUPS,
        "timeline": 4 * 2 * GROUPS,
        "pending": 0,
        "inbox": 2 * GROUPS + GROUPS,  # the first phase went to both replicas
    }
    print(f"\napplier lease taken over {took:.2f}s after SIGKILL of its holder")
