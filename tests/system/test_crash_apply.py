"""Issue 18: SIGKILL while the applier works through a backlog, on both databases.

Webhooks are answered once stored and applied behind the answers, so a kill can land in
the middle of an apply batch: its transaction holds the entries' effects and their
applied marks together, so the restarted receiver applies exactly what was not applied.
The kill comes at a random point of the drain (a seeded fraction of the backlog left),
after every webhook got its 202; then no acknowledged webhook is lost, none is applied
twice, and the backlog drains after the restart.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import as_group, capture, fresh_postgres_database
from tests.inbox import drained
from tests.processes import AUTH, Service, get_json, start_receiver

GROUPS = 120
CONCURRENCY = 16
PHASE_SECONDS = 120
ENV = {"RECEIVER_RECONCILE_INTERVAL": "0"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(params=["sqlite", "postgresql"])
def crash_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'receiver.db'}"
    else:
        yield from fresh_postgres_database()


async def backlog(http: aiohttp.ClientSession, service: Service) -> int:
    async with http.get(f"{service.base_url}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith("postmortem_receiver_inbox_backlog "):
                return int(float(line.split()[1]))
    raise AssertionError("no backlog gauge in /metrics")


async def send_all(http: aiohttp.ClientSession, service: Service, bodies: list[bytes]) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(body: bytes) -> None:
        async with (
            gate,
            http.post(
                f"{service.base_url}/api/v1/alerts", data=body, headers={**AUTH, **JSON}
            ) as response,
        ):
            assert response.status == 202, await response.text()

    await asyncio.gather(*(one(body) for body in bodies))


async def test_sigkill_during_an_apply_batch_applies_each_webhook_once(
    request: pytest.FixtureRequest, tmp_path: Path, crash_database: str
) -> None:
    firing = [json.dumps(as_group(capture("firing_group_3"), g)).encode() for g in range(GROUPS)]
    resolved = [
        json.dumps(as_group(capture("resolved_group_3"), g)).encode() for g in range(GROUPS)
    ]
    first, process = await asyncio.to_thread(
        start_receiver, request, tmp_path, database_url=crash_database, extra_env=ENV
    )
    rng = random.Random(f"{crash_database.split(':')[0]}-18")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
        async with asyncio.timeout(PHASE_SECONDS):
            await send_all(http, first, firing)  # every group fires, then every group resolves
            await send_all(http, first, resolved)
            left_at_end = await backlog(http, first)
            # somewhere in the drain: after a seeded share of what was left is applied
            kill_below = max(1, int(left_at_end * rng.uniform(0.2, 0.8)))
            while True:
                killed_with = await backlog(http, first)
                if killed_with <= kill_below:
                    break
                await asyncio.sleep(0.005)
            process.kill()
    assert await asyncio.to_thread(process.wait, 10) == -9

    second, _ = await asyncio.to_thread(
        start_receiver,
        request,
        tmp_path,
        database_url=crash_database,
        name="receiver-restarted",
        extra_env=ENV,
    )
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
        async with asyncio.timeout(PHASE_SECONDS):
            started = time.monotonic()
            await drained(http, base=second.base_url, headers=AUTH, seconds=PHASE_SECONDS)
            drain_seconds = time.monotonic() - started
            listing = await get_json(http, f"{second.base_url}/api/v1/incidents?limit=500")
            assert listing["total"] == GROUPS
            assert len({i["group_key"] for i in listing["incidents"]}) == GROUPS
            shapes: Counter[tuple[tuple[str, int], ...]] = Counter()
            for incident in listing["incidents"]:
                detail = await get_json(
                    http, f"{second.base_url}/api/v1/incidents/{incident['id']}"
                )
                assert detail["status"] == "drafted", incident["id"]
                assert [a["status"] for a in detail["alerts"]] == ["resolved"] * 3
                assert [d["revision"] for d in detail["drafts"]] == [1], incident["id"]
                kinds = Counter(row["kind"] for row in detail["timeline"])
                assert (kinds["incident_opened"], kinds["all_resolved"]) == (1, 1), kinds
                assert (kinds["alert_fired"], kinds["alert_resolved"]) == (3, 3), kinds
                shapes[tuple(sorted(kinds.items()))] += 1
            assert len(shapes) == 1, shapes  # every incident the same rows: none twice
    restarted_log = second.log_path.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in restarted_log
    print(
        f"\n{crash_database.split(':')[0]}: {left_at_end} of {2 * GROUPS} webhooks not yet "
        f"applied when the load stopped; SIGKILL with {killed_with} left; the restarted "
        f"receiver drained them in {drain_seconds:.2f}s"
    )
