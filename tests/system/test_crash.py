"""Issue 8: the receiver is killed with SIGKILL under load, restarted, and nothing is lost.

"Crash test: a test kills the receiver with SIGKILL while a load generator is sending
(SQLite and PostgreSQL), restarts it, and checks that every webhook that got a 2xx is
fully applied, none half-applied, and the retried ones are applied once."

A real receiver process gets LOAD distinct webhooks over CONCURRENCY connections. Each is
the real firing_group_3 capture with only its identifiers changed, so that each opens its
own incident: the service (in groupKey, groupLabels, commonLabels and every alert's
labels) and the last four hex digits of each alert's fingerprint. Timestamps, annotations
and the rest stay as Alertmanager sent them.

Once KILL_AFTER answers are in, the process gets SIGKILL (no shutdown, no flush), while
the other senders still have requests in flight; every webhook's outcome is recorded: its
HTTP status, or the connection error. A 2xx (202, issue 18) means "durably in the inbox":
the new receiver applies what the kill left unapplied. A new receiver process on the same
database must then show, once its backlog drained:
- every webhook answered 2xx fully applied: its incident with exactly its 3 alerts and
  exactly 4 timeline rows (3 alert_fired + incident_opened), its body in the inbox;
- no incident half-applied: every incident in the database has exactly that shape, and
  only a webhook that was in flight at the kill may be stored without having had a 2xx;
- re-sending every webhook that got no 2xx (as Alertmanager retries) gets a 2xx for
  each: "duplicate" for those stored before their answer was lost, a new incident for the
  rest; then exactly LOAD incidents, each applied once;
- re-sending every webhook once more answers "duplicate" and changes nothing.

Only loopback addresses are used; the reconciler is off (the captures' externalURL names
another host), so the timeline holds only what the webhooks wrote.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from receiver.store.engine import async_url
from tests.conftest import as_group, capture, fresh_postgres_database
from tests.inbox import drained, wait_applied
from tests.processes import AUTH, Service, get_json, log_tail, start_receiver

LOAD = 300
CONCURRENCY = 16
KILL_AFTER = 100
REQUEST_SECONDS = 20  # one request, connection included
PHASE_SECONDS = 120  # the load, a round of re-sends, or the checks of one state
ALERTS = 3
EXPECTED_KINDS = Counter({"alert_fired": 3, "incident_opened": 1})
ROWS = sum(EXPECTED_KINDS.values())  # 4
OK = (202,)  # durably in the inbox; applied behind the answer
JSON = {"Content-Type": "application/json"}
ENV = {"RECEIVER_RECONCILE_INTERVAL": "0"}


# -- the webhooks ------------------------------------------------------------------------


@dataclass(frozen=True)
class Hook:
    index: int
    group_key: str
    fingerprints: frozenset[str]
    body: bytes  # the exact bytes posted, every time

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def make_hooks() -> list[Hook]:
    """LOAD distinct alert groups from firing_group_3: identifiers changed, nothing else."""
    original = capture("firing_group_3")
    assert 'service="payments"}' in original["groupKey"]
    assert len(original["alerts"]) == ALERTS
    hooks = []
    for index in range(LOAD):
        body = as_group(original, index)
        hooks.append(
            Hook(
                index=index,
                group_key=body["groupKey"],
                fingerprints=frozenset(alert["fingerprint"] for alert in body["alerts"]),
                body=json.dumps(body, ensure_ascii=False).encode(),
            )
        )
    assert len({hook.group_key for hook in hooks}) == LOAD
    assert len(set().union(*(hook.fingerprints for hook in hooks))) == ALERTS * LOAD
    assert len({hook.sha256 for hook in hooks}) == LOAD
    return hooks


# -- sending -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    index: int
    started: float
    finished: float
    status: int | None  # None: no HTTP answer (refused, reset, closed, timed out)
    answer: Any  # the JSON answer, or the text of another one
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status in OK


async def send(http: aiohttp.ClientSession, url: str, hook: Hook) -> Outcome:
    began = time.monotonic()
    try:
        async with http.post(url, data=hook.body, headers={**AUTH, **JSON}) as response:
            text = await response.text()
            try:
                answer: Any = json.loads(text)
            except ValueError:
                answer = text
            return Outcome(hook.index, began, time.monotonic(), response.status, answer)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        return Outcome(hook.index, began, time.monotonic(), None, None, error)


@dataclass
class Load:
    """CONCURRENCY senders through every webhook once; SIGKILL after KILL_AFTER answers."""

    hooks: list[Hook]
    process: subprocess.Popen[bytes]
    started: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    killed_at: float | None = None
    answered_at_kill: int = 0
    in_flight_at_kill: int = 0

    async def run(self, http: aiohttp.ClientSession, url: str) -> None:
        queue = iter(self.hooks)  # shared: each webhook is taken once

        async def sender() -> None:
            for hook in queue:
                self.started += 1
                outcome = await send(http, url, hook)
                self.outcomes.append(outcome)
                answered = sum(1 for o in self.outcomes if o.status is not None)
                if self.killed_at is None and answered >= KILL_AFTER:
                    # right here, with the other senders' requests still in flight
                    self.process.kill()
                    self.killed_at = time.monotonic()
                    self.answered_at_kill = answered
                    self.in_flight_at_kill = self.started - len(self.outcomes)

        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))


async def send_all(
    http: aiohttp.ClientSession, service: Service, hooks: list[Hook]
) -> list[Outcome]:
    gate = asyncio.Semaphore(CONCURRENCY)
    url = f"{service.base_url}/api/v1/alerts"

    async def one(hook: Hook) -> Outcome:
        async with gate:
            return await send(http, url, hook)

    async with asyncio.timeout(PHASE_SECONDS):
        return list(await asyncio.gather(*(one(hook) for hook in hooks)))


async def applied_entries(
    http: aiohttp.ClientSession, service: Service, outcomes: list[Outcome]
) -> dict[int, dict[str, Any]]:
    """Each answered webhook's inbox entry once applied, by webhook index: the backlog
    drains (within PHASE_SECONDS, checked by the caller), then each entry is read once."""
    await drained(http, base=service.base_url, headers=AUTH, seconds=PHASE_SECONDS)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(outcome: Outcome) -> tuple[int, dict[str, Any]]:
        async with gate:
            entry = await wait_applied(
                http, outcome.answer, base=service.base_url, headers=AUTH, seconds=PHASE_SECONDS
            )
        assert entry["state"] == "applied", entry
        return outcome.index, entry

    return dict(await asyncio.gather(*(one(o) for o in outcomes)))


def summary(outcomes: list[Outcome]) -> dict[str, int]:
    return dict(
        Counter(str(o.status) if o.status is not None else o.error.split(":")[0] for o in outcomes)
    )


# -- what is stored ----------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """One incident as the database holds it."""

    id: int
    group_key: str
    status: str
    fingerprints: tuple[str, ...]
    kinds: tuple[tuple[str, int], ...]  # timeline kind -> rows, sorted
    inbox: tuple[str, ...]  # sha256 of each inbox body recorded for it, sorted

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.kinds)


@dataclass(frozen=True)
class Snapshot:
    incidents: dict[str, Stored]  # by group key (checked unique)
    episodes: int
    timeline: int
    inbox_rows: int
    orphans: int  # episodes, timeline or inbox rows of no incident


async def snapshot(database_url: str) -> Snapshot:
    """The database's rows, read directly (not through the receiver)."""
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.connect() as conn:

            async def rows(sql: str) -> list[tuple[Any, ...]]:
                return [tuple(row) for row in (await conn.execute(sa.text(sql))).all()]

            incidents = await rows("SELECT id, group_key, status FROM incidents")
            episodes = await rows("SELECT incident_id, fingerprint FROM episodes")
            timeline = await rows(
                "SELECT incident_id, kind, count(*) FROM timeline GROUP BY incident_id, kind"
            )
            inbox = await rows("SELECT incident_id, body_sha256, kind FROM inbox")
    finally:
        await engine.dispose()

    ids = {int(row[0]) for row in incidents}
    prints: dict[int, list[str]] = {}
    for incident_id, fingerprint in episodes:
        prints.setdefault(int(incident_id), []).append(str(fingerprint))
    kinds: dict[int, Counter[str]] = {}
    for incident_id, kind, count in timeline:
        kinds.setdefault(int(incident_id), Counter())[str(kind)] += int(count)
    bodies: dict[int, list[str]] = {}
    for incident_id, sha256, kind in inbox:
        assert kind == "alertmanager", kind
        bodies.setdefault(-1 if incident_id is None else int(incident_id), []).append(str(sha256))
    by_key: dict[str, Stored] = {}
    for incident_id, group_key, status in incidents:
        assert group_key not in by_key, f"two incidents of {group_key}"
        number = int(incident_id)
        by_key[str(group_key)] = Stored(
            id=number,
            group_key=str(group_key),
            status=str(status),
            fingerprints=tuple(sorted(prints.get(number, []))),
            kinds=tuple(sorted(kinds.get(number, Counter()).items())),
            inbox=tuple(sorted(bodies.get(number, []))),
        )
    orphans = (
        sum(1 for n in prints if n not in ids)
        + sum(1 for n in kinds if n not in ids)
        + sum(len(found) for n, found in bodies.items() if n not in ids)
    )
    return Snapshot(
        incidents=by_key,
        episodes=len(episodes),
        timeline=sum(int(row[2]) for row in timeline),
        inbox_rows=len(inbox),
        orphans=orphans,
    )


def check_whole(state: Snapshot, hooks: dict[str, Hook]) -> None:
    """Every stored incident is one of our webhooks, applied whole: never half of one."""
    assert state.orphans == 0
    unknown = sorted(set(state.incidents) - set(hooks))
    assert not unknown, f"incidents of no webhook sent: {unknown[:3]}"
    half = [
        stored
        for key, stored in state.incidents.items()
        if stored.status != "firing"
        or stored.fingerprints != tuple(sorted(hooks[key].fingerprints))
        or stored.kinds != tuple(sorted(EXPECTED_KINDS.items()))
        or not stored.inbox
        or set(stored.inbox) != {hooks[key].sha256}
    ]
    assert not half, f"{len(half)} incidents not applied whole, e.g. {half[:2]}"
    assert state.episodes == ALERTS * len(state.incidents)
    assert state.timeline == ROWS * len(state.incidents)


async def check_api(
    http: aiohttp.ClientSession, service: Service, hooks: list[Hook], incident_of: dict[str, int]
) -> None:
    """Through the restarted receiver: each webhook's incident, exactly as it sent it."""
    listing = await get_json(http, f"{service.base_url}/api/v1/incidents?limit=500")
    listed = {incident["group_key"]: incident["id"] for incident in listing["incidents"]}
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(hook: Hook) -> None:
        assert listed.get(hook.group_key) == incident_of[hook.group_key], hook.index
        async with gate:
            detail = await get_json(
                http, f"{service.base_url}/api/v1/incidents/{incident_of[hook.group_key]}"
            )
        assert detail["group_key"] == hook.group_key
        assert detail["status"] == "firing"
        assert {a["fingerprint"] for a in detail["alerts"]} == hook.fingerprints
        assert len(detail["alerts"]) == ALERTS
        assert Counter(row["kind"] for row in detail["timeline"]) == EXPECTED_KINDS, hook.index

    await asyncio.gather(*(one(hook) for hook in hooks))


# -- the test ----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def crash_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that outlives the killed receiver: a file, or a fresh PostgreSQL one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'receiver.db'}"
    else:
        yield from fresh_postgres_database()


async def test_sigkill_under_load_loses_and_doubles_nothing(
    request: pytest.FixtureRequest, tmp_path: Path, crash_database: str
) -> None:
    began = time.monotonic()
    hooks = make_hooks()
    by_key = {hook.group_key: hook for hook in hooks}
    first, process = await asyncio.to_thread(
        start_receiver, request, tmp_path, database_url=crash_database, extra_env=ENV
    )

    load = Load(hooks, process)
    load_began = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=REQUEST_SECONDS)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        async with asyncio.timeout(PHASE_SECONDS):
            await load.run(http, f"{first.base_url}/api/v1/alerts")
    load_seconds = time.monotonic() - load_began
    assert load.killed_at is not None, f"never killed: {summary(load.outcomes)}"
    assert await asyncio.to_thread(process.wait, 10) == -9, log_tail(first.log_path)
    assert len(load.outcomes) == LOAD
    assert sorted(o.index for o in load.outcomes) == list(range(LOAD))
    assert load.in_flight_at_kill > 0, "nothing was in flight at the kill"

    # the HTTP answers: a 202 each (stored in the inbox); else no answer at all
    answered = [o for o in load.outcomes if o.status is not None]
    wrong = [o for o in answered if o.status != 202]
    assert not wrong, wrong[:5]
    assert all(o.answer["status"] == "accepted" for o in answered)
    assert len({o.answer["inbox_id"] for o in answered}) == len(answered)
    after_kill = [o for o in load.outcomes if o.started >= load.killed_at]
    assert all(o.status is None for o in after_kill), [o for o in after_kill if o.status][:3]
    unanswered = {hooks[o.index].group_key for o in load.outcomes if o.status is None}
    in_flight = {
        hooks[o.index].group_key
        for o in load.outcomes
        if o.status is None and o.started < load.killed_at
    }

    # a new receiver on the same database
    second, _ = await asyncio.to_thread(
        start_receiver,
        request,
        tmp_path,
        database_url=crash_database,
        name="receiver-restarted",
        extra_env=ENV,
    )
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        async with asyncio.timeout(PHASE_SECONDS):
            # every acknowledged webhook is applied behind its answer, after the restart
            # for those the kill caught in the inbox: all distinct, so each opened one
            entries = await applied_entries(http, second, answered)
            assert all(entry["outcome"] == "created" for entry in entries.values()), entries
            acknowledged = {
                hooks[index].group_key: entry["incident_id"] for index, entry in entries.items()
            }
            assert len(acknowledged) >= KILL_AFTER
            assert len(set(acknowledged.values())) == len(acknowledged)
            # and what was stored without an answer (in flight at the kill)
            await drained(http, base=second.base_url, headers=AUTH, seconds=PHASE_SECONDS)
            after_restart = await snapshot(crash_database)
            check_whole(after_restart, by_key)
            missing = sorted(set(acknowledged) - set(after_restart.incidents))
            assert not missing, f"{len(missing)} webhooks answered 2xx are not stored: {missing}"
            for key, incident_id in acknowledged.items():
                assert after_restart.incidents[key].id == incident_id, key
            stored_unacknowledged = set(after_restart.incidents) - set(acknowledged)
            # stored without its answer: only a request that was in flight at the kill
            assert stored_unacknowledged <= in_flight, sorted(stored_unacknowledged - in_flight)
            await check_api(http, second, [by_key[key] for key in acknowledged], acknowledged)

        # Alertmanager re-sends what got no 2xx
        retry = [by_key[key] for key in sorted(unanswered, key=lambda k: by_key[k].index)]
        retried = await send_all(http, second, retry)
        bad = [o for o in retried if not o.ok]
        assert not bad, bad[:5]
        incident_of = dict(acknowledged)
        async with asyncio.timeout(PHASE_SECONDS):
            retried_entries = await applied_entries(http, second, retried)
        for index, entry in retried_entries.items():
            key = hooks[index].group_key
            if key in stored_unacknowledged:  # stored before its answer was lost
                assert entry["outcome"] == "unchanged", entry
                assert entry["incident_id"] == after_restart.incidents[key].id
            else:
                assert entry["outcome"] == "created", entry
            incident_of[key] = entry["incident_id"]

        async with asyncio.timeout(PHASE_SECONDS):
            complete = await snapshot(crash_database)
            check_whole(complete, by_key)
            assert len(complete.incidents) == LOAD
            assert {key: s.id for key, s in complete.incidents.items()} == incident_of
            listing = await get_json(http, f"{second.base_url}/api/v1/incidents?limit=1")
            assert listing["total"] == LOAD
            await check_api(http, second, hooks, incident_of)

        # every webhook once more: a duplicate each, and nothing changes
        again = await send_all(http, second, hooks)
        assert not [o for o in again if not o.ok], [o for o in again if not o.ok][:5]
        async with asyncio.timeout(PHASE_SECONDS):
            again_entries = await applied_entries(http, second, again)
            final = await snapshot(crash_database)
        not_duplicate = [
            entry
            for index, entry in again_entries.items()
            if entry["outcome"] != "unchanged"
            or entry["incident_id"] != incident_of[hooks[index].group_key]
        ]
        assert not not_duplicate, not_duplicate[:5]
        assert {key: s.id for key, s in final.incidents.items()} == incident_of
        assert (final.episodes, final.timeline) == (complete.episodes, complete.timeline)

        def shape(state: Snapshot) -> dict[str, tuple[Any, ...]]:
            return {
                key: (s.id, s.fingerprints, s.kinds, s.status) for key, s in state.incidents.items()
            }

        assert shape(final) == shape(complete)
        # the inbox keeps every delivery, duplicates included: one more row each
        assert final.inbox_rows == complete.inbox_rows + LOAD

    restarted_log = second.log_path.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in restarted_log, log_tail(second.log_path)
    print(
        f"\n{crash_database.split(':')[0]}: SIGKILL after {load.answered_at_kill} answers "
        f"with {load.in_flight_at_kill} in flight; first run {summary(load.outcomes)}; "
        f"stored without an answer: {len(stored_unacknowledged)}; "
        f"re-sent {len(retry)}: {summary(retried)}; then {LOAD} incidents; "
        f"load {load_seconds:.1f}s, total {time.monotonic() - began:.1f}s"
    )
