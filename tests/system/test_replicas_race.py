"""Race: two real receiver replicas on one PostgreSQL, hundreds of overlapping deliveries.

Issue 3: "two real receiver processes on one PostgreSQL, hundreds of identical and
overlapping deliveries sent concurrently to both; then the exact counts are asserted."

Every body sent here is a real Alertmanager capture from tests/fixtures/ with only its
identifiers changed, so that one capture yields many independent alert groups: the
service in groupKey, groupLabels, commonLabels and each alert's labels, and the last
four hex digits of each alert's fingerprint. Timestamps, annotations and everything
else stay as Alertmanager sent them.

Whatever the order and the duplication of the deliveries, one group whose three alerts
fire, partially resolve and then resolve ends as one drafted incident with 3 resolved
episodes, 8 timeline rows and exactly one draft revision, exported once to the drafts
directory both replicas share.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.conftest import as_group, capture, fresh_postgres_database
from tests.inbox import drained, wait_applied
from tests.processes import AUTH, Service, get_json, start_receiver

REPLICAS = ("replica-a", "replica-b")
SEED = 20261126
CONCURRENCY = 64
# round 1: every phase of every group at once, in a shuffled order
SHUFFLED_GROUPS = 40
SHUFFLED_COPIES = 3  # each body goes this many times to each replica
# round 2: the HA pattern, one wave per phase, each wave concurrent across both replicas
ORDERED_GROUPS = 20
ORDERED_COPIES = 2
ROUND_SECONDS = 40
REQUEST_SECONDS = 20

PHASES = ("firing", "partial", "resolved")
EXPECTED_KINDS = {
    "alert_fired": 3,
    "incident_opened": 1,
    "alert_resolved": 3,
    "all_resolved": 1,
}
ROWS_PER_INCIDENT = sum(EXPECTED_KINDS.values())  # 8
ALERTS_PER_GROUP = 3
NEVER = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of a firing alert


# -- bodies ------------------------------------------------------------------------------


Lifecycle = dict[str, dict[str, Any]]  # phase -> webhook body


def shuffled_lifecycle() -> Lifecycle:
    """firing_group_3 -> (derived) partial resolve -> resolved_group_3, one Alertmanager run.

    The partial body is firing_group_3 with its third alert (10.0.2.13) resolved, at the
    endsAt resolved_group_3 reports for that alert, as Alertmanager would send it. Every
    body holds all three alerts, so any order of delivery ends in the same state.
    """
    firing = capture("firing_group_3")
    resolved = capture("resolved_group_3")
    assert [a["startsAt"] for a in firing["alerts"]] == [a["startsAt"] for a in resolved["alerts"]]
    ends_at = {alert["fingerprint"]: alert["endsAt"] for alert in resolved["alerts"]}
    partial = copy.deepcopy(firing)
    third = partial["alerts"][2]
    assert third["labels"]["instance"] == "10.0.2.13:9100"
    third["status"] = "resolved"
    third["endsAt"] = ends_at[third["fingerprint"]]
    return {"firing": firing, "partial": partial, "resolved": resolved}


def ordered_lifecycle() -> Lifecycle:
    """partial_resolve -> partial_resolve_then_rest_resolved, another Alertmanager run.

    That run's all-firing notification was not captured: it is partial_resolve with its
    resolved alert firing again. The last body holds only the two alerts still firing,
    so this lifecycle needs its phases in order (round 2 keeps it).
    """
    partial = capture("partial_resolve")
    resolved = capture("partial_resolve_then_rest_resolved")
    firing = copy.deepcopy(partial)
    for alert in firing["alerts"]:
        alert["status"] = "firing"
        alert["endsAt"] = NEVER
    assert len(resolved["alerts"]) == 2
    return {"firing": firing, "partial": partial, "resolved": resolved}


def renamed(body: dict[str, Any], index: int) -> dict[str, Any]:
    """The capture as group `index` would have sent it: its own service and fingerprints."""
    return as_group(body, index)


def fingerprint(original: str, index: int) -> str:
    return original[:-4] + f"{index:04x}"


@dataclass(frozen=True)
class Group:
    index: int
    group_key: str
    fingerprints: frozenset[str]
    bodies: dict[str, bytes]  # phase -> the exact bytes posted


def make_groups(lifecycle: Lifecycle, indexes: range) -> list[Group]:
    groups = []
    for index in indexes:
        bodies = {phase: renamed(lifecycle[phase], index) for phase in PHASES}
        groups.append(
            Group(
                index=index,
                group_key=bodies["firing"]["groupKey"],
                fingerprints=frozenset(a["fingerprint"] for a in bodies["firing"]["alerts"]),
                bodies={
                    phase: json.dumps(body, ensure_ascii=False).encode()
                    for phase, body in bodies.items()
                },
            )
        )
    keys = {group.group_key for group in groups}
    prints = set().union(*(group.fingerprints for group in groups))
    assert len(keys) == len(groups)
    assert len(prints) == ALERTS_PER_GROUP * len(groups)
    return groups


# -- sending -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    group: Group
    phase: str
    replica: Service


@dataclass(frozen=True)
class Answer:
    delivery: Delivery
    status: int
    body: Any  # the JSON answer, or the text of a non-JSON one


def deliveries(
    groups: Sequence[Group], phases: Sequence[str], replicas: Sequence[Service], copies: int
) -> list[Delivery]:
    return [
        Delivery(group, phase, replica)
        for group in groups
        for phase in phases
        for replica in replicas
        for _ in range(copies)
    ]


async def send_all(
    http: aiohttp.ClientSession, batch: Sequence[Delivery], gate: asyncio.Semaphore
) -> list[Answer]:
    """Post every delivery, at most CONCURRENCY at a time, roughly in the batch's order."""

    async def send(delivery: Delivery) -> Answer:
        url = f"{delivery.replica.base_url}/api/v1/alerts"
        headers = {**AUTH, "Content-Type": "application/json"}
        async with (
            gate,
            http.post(url, data=delivery.group.bodies[delivery.phase], headers=headers) as r,
        ):
            text = await r.text()
            try:
                body: Any = json.loads(text)
            except ValueError:
                body = text
            return Answer(delivery, r.status, body)

    return list(await asyncio.gather(*(send(delivery) for delivery in batch)))


async def check_answers(
    http: aiohttp.ClientSession,
    answers: Sequence[Answer],
    groups: Sequence[Group],
    gate: asyncio.Semaphore,
) -> dict[str, int]:
    """Every answer a 202; once applied (by whichever replica holds the turn), one entry
    per group opened its incident and every entry of a group names that incident.

    Returns group key -> incident id.
    """
    statuses = Counter(answer.status for answer in answers)
    failed = [a for a in answers if a.status != 202]
    assert not failed, f"statuses {dict(statuses)}; first failures: " + "; ".join(
        f"{a.delivery.replica.name} {a.delivery.phase} group {a.delivery.group.index}: "
        f"{a.status} {a.body}"
        for a in failed[:5]
    )

    for replica in {a.delivery.replica.base_url for a in answers}:
        # applied by one replica at a time, behind the answers: a slower pass than sending
        await drained(http, base=replica, headers=AUTH, seconds=3 * ROUND_SECONDS)

    async def entry_of(answer: Answer) -> dict[str, Any]:
        async with gate:
            return await wait_applied(
                http, answer.body, base=answer.delivery.replica.base_url, headers=AUTH
            )

    entries = await asyncio.gather(*(entry_of(answer) for answer in answers))
    outcome_of = dict(zip((id(a) for a in answers), entries, strict=True))
    assert all(entry["state"] == "applied" for entry in entries), entries[:3]
    incident_of: dict[str, int] = {}
    for group in groups:
        mine = [outcome_of[id(a)] for a in answers if a.delivery.group is group]
        created = [entry for entry in mine if entry["outcome"] == "created"]
        assert len(created) == 1, (group.index, mine)
        ids = {entry["incident_id"] for entry in mine}
        assert ids == {created[0]["incident_id"]}, (group.index, ids)
        incident_of[group.group_key] = created[0]["incident_id"]
    assert len(set(incident_of.values())) == len(groups)
    return incident_of


# -- checking ----------------------------------------------------------------------------


async def check_api(
    http: aiohttp.ClientSession,
    replicas: Sequence[Service],
    groups: Sequence[Group],
    incident_of: dict[str, int],
    total: int,
    gate: asyncio.Semaphore,
) -> None:
    """Both replicas list `total` incidents; each group's incident is exactly as expected."""
    for replica in replicas:
        listing = await get_json(http, f"{replica.base_url}/api/v1/incidents?limit=500")
        assert listing["total"] == total
        assert len(listing["incidents"]) == total
        by_key = Counter(incident["group_key"] for incident in listing["incidents"])
        assert all(count == 1 for count in by_key.values()), by_key.most_common(3)
        listed = {incident["group_key"]: incident for incident in listing["incidents"]}
        for group in groups:
            summary = listed[group.group_key]
            assert summary["id"] == incident_of[group.group_key]
            assert summary["status"] == "drafted"
            assert summary["service"] == f"payments-{group.index}"
            assert summary["cycle"] == 1

    async def detail(position: int, group: Group) -> None:
        replica = replicas[position % len(replicas)]
        url = f"{replica.base_url}/api/v1/incidents/{incident_of[group.group_key]}"
        async with gate:
            found = await get_json(http, url)
        assert found["status"] == "drafted", (group.index, found["status"])
        assert len(found["alerts"]) == ALERTS_PER_GROUP, group.index
        assert {a["fingerprint"] for a in found["alerts"]} == group.fingerprints
        assert all(a["status"] == "resolved" and a["ends_at"] for a in found["alerts"])
        kinds = Counter(row["kind"] for row in found["timeline"])
        assert kinds == Counter(EXPECTED_KINDS), (group.index, kinds)
        assert [d["revision"] for d in found["drafts"]] == [1], (group.index, found["drafts"])

    await asyncio.gather(*(detail(n, group) for n, group in enumerate(groups)))


async def check_database(database_url: str, drafts_dir: Path, total: int, requests: int) -> None:
    """The exact rows in PostgreSQL, and the shared drafts directory mirroring them."""
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM incidents") == total
        statuses = await conn.fetch("SELECT status, count(*) AS n FROM incidents GROUP BY status")
        assert {row["status"]: row["n"] for row in statuses} == {"drafted": total}
        assert await conn.fetchval("SELECT count(DISTINCT key) FROM incidents") == total
        assert await conn.fetchval("SELECT count(*) FROM incidents WHERE open_key IS NOT NULL") == 0

        assert await conn.fetchval("SELECT count(*) FROM episodes") == ALERTS_PER_GROUP * total
        assert await conn.fetchval("SELECT count(*) FROM episodes WHERE NOT resolved") == 0
        per_incident = await conn.fetch(
            "SELECT i.id, count(e.id) AS n FROM incidents i "
            "LEFT JOIN episodes e ON e.incident_id = i.id GROUP BY i.id"
        )
        assert {row["n"] for row in per_incident} == {ALERTS_PER_GROUP}

        assert await conn.fetchval("SELECT count(*) FROM timeline") == ROWS_PER_INCIDENT * total
        kinds = await conn.fetch("SELECT kind, count(*) AS n FROM timeline GROUP BY kind")
        assert {row["kind"]: row["n"] for row in kinds} == {
            kind: count * total for kind, count in EXPECTED_KINDS.items()
        }
        rows = await conn.fetch(
            "SELECT i.id, count(t.id) AS n FROM incidents i "
            "LEFT JOIN timeline t ON t.incident_id = i.id GROUP BY i.id"
        )
        assert {row["n"] for row in rows} == {ROWS_PER_INCIDENT}

        drafts = await conn.fetch("SELECT incident_id, revision, file_name, markdown FROM drafts")
        assert len(drafts) == total
        assert {row["revision"] for row in drafts} == {1}
        ids = await conn.fetch("SELECT id FROM incidents")
        assert {row["incident_id"] for row in drafts} == {row["id"] for row in ids}

        # a 2xx is answered only once the body is stored in the inbox, once per request
        assert await conn.fetchval("SELECT count(*) FROM inbox") == requests
    finally:
        await conn.close()

    # exactly one file per draft (no leftover temporary file), each the stored markdown
    on_disk = read_directory(drafts_dir)
    assert sorted(on_disk) == sorted(row["file_name"] for row in drafts)
    for row in drafts:
        assert on_disk[row["file_name"]] == row["markdown"], row["file_name"]


def read_directory(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in directory.iterdir()}


def conflict_retries(replicas: Sequence[Service]) -> int:
    return sum(r.log_path.read_text(encoding="utf-8").count("conflict_retry") for r in replicas)


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def shared_database() -> Iterator[str]:
    yield from fresh_postgres_database()


@pytest.fixture
def drafts_dir(tmp_path: Path) -> Path:
    return tmp_path / "drafts"  # shared by both replicas, as the design allows


@pytest.fixture
def replicas(
    request: pytest.FixtureRequest, tmp_path: Path, shared_database: str, drafts_dir: Path
) -> list[Service]:
    """Both replicas on the same database and drafts directory; stopped before the drop."""
    started = []
    for name in REPLICAS:
        workdir = tmp_path / name
        workdir.mkdir()
        service, _ = start_receiver(
            request, workdir, database_url=shared_database, name=name, drafts_dir=drafts_dir
        )
        started.append(service)
    return started


# -- the test ----------------------------------------------------------------------------


async def test_two_replicas_race_on_one_postgres(
    replicas: list[Service], shared_database: str, drafts_dir: Path
) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    gate = asyncio.Semaphore(CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=REQUEST_SECONDS)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        # Round 1: every body of every group, to both replicas, several times, shuffled:
        # identical deliveries race each other and the phases of a group overlap.
        shuffled = make_groups(shuffled_lifecycle(), range(SHUFFLED_GROUPS))
        batch = deliveries(shuffled, PHASES, replicas, SHUFFLED_COPIES)
        rng.shuffle(batch)
        async with asyncio.timeout(ROUND_SECONDS):
            answers = await send_all(http, batch, gate)
        sent = len(answers)
        incident_of = await check_answers(http, answers, shuffled, gate)
        await check_api(http, replicas, shuffled, incident_of, SHUFFLED_GROUPS, gate)
        await check_database(shared_database, drafts_dir, SHUFFLED_GROUPS, sent)

        # Round 2, new groups: what an HA Alertmanager pair does. Each phase is one wave,
        # every notification sent to both replicas at once (and retried), the waves in order.
        ordered = make_groups(
            ordered_lifecycle(), range(SHUFFLED_GROUPS, SHUFFLED_GROUPS + ORDERED_GROUPS)
        )
        answers = []
        async with asyncio.timeout(ROUND_SECONDS):
            for phase in PHASES:
                wave = deliveries(ordered, [phase], replicas, ORDERED_COPIES)
                rng.shuffle(wave)
                answers += await send_all(http, wave, gate)
        sent += len(answers)
        incident_of |= await check_answers(http, answers, ordered, gate)
        total = SHUFFLED_GROUPS + ORDERED_GROUPS
        await check_api(http, replicas, [*shuffled, *ordered], incident_of, total, gate)
        await check_database(shared_database, drafts_dir, total, sent)

    print(
        f"{sent} deliveries, {conflict_retries(replicas)} conflict retries in the logs, "
        f"{time.monotonic() - started:.1f}s"
    )
