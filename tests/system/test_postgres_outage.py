"""Outage: the receiver's PostgreSQL crashes mid-run and comes back.

The test starts its own throwaway PostgreSQL (initdb + pg_ctl on a temporary directory
and a free loopback port) and one receiver process on it. While a sender keeps posting
webhooks, PostgreSQL is stopped with `pg_ctl -m immediate` (a crash: no checkpoint, every
backend killed) and later started again on the same data directory and port. The
receiver is not restarted.

What must hold, as Alertmanager sees it:
- during the outage every webhook is answered 503 {"error": "store_unavailable"} (never a
  hang, never a 500, never a 2xx for something that was not stored); /readyz is 503 and
  /healthz stays 200;
- when PostgreSQL is back the same receiver process recovers by itself, and webhooks
  retried until they get a 2xx (as Alertmanager does on a 5xx) are applied exactly once;
- no webhook that got a 2xx is missing: one incident per group, with exactly its alerts
  and timeline rows, and its body in the inbox.

initdb and postgres refuse to run as root, so as root they run as the `postgres` user in
a directory under /tmp that this user owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import glob
import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.conftest import capture
from tests.inbox import drained, wait_applied
from tests.processes import (
    AUTH,
    LOOPBACK,
    Service,
    free_port,
    get_json,
    log_tail,
    poll,
    start_receiver,
)

INITDB_GLOB = "/usr/lib/postgresql/*/bin/initdb"
PG_CTL_TIMEOUT = 20  # seconds pg_ctl -w may wait for a start or a stop

# phase 1: webhooks while PostgreSQL is up
FIRST_COUNT = 6
# phase 2: a background sender posts one new webhook every SEND_INTERVAL; PostgreSQL is
# stopped STOP_AFTER into it, stays down for DOWN_FOR, and is started again while the
# sender still runs
SENDER_COUNT = 80
SEND_INTERVAL = 0.05
STOP_AFTER = 0.6
# concurrent webhooks sent as the crash begins (indexes apart from the sender's)
BURST = 8
BURST_BASE = 1000
DOWN_FOR = 1.8
# phase 3: how long the receiver may take to recover, and Alertmanager-like retries
READY_TIMEOUT = 15.0
RETRY_DEADLINE = 20.0
DUPLICATES = 4

# Longer than the receiver should ever need for an answer: a webhook without an answer in
# this time counts as a hang (Alertmanager's own webhook timeout is 10s).
REQUEST_TIMEOUT = 8.0
OK = frozenset({202})  # durably in the inbox; applied behind the answer


# -- a throwaway PostgreSQL --------------------------------------------------------------


@dataclass
class Postgres:
    bindir: Path
    home: Path  # owned by the server's user: data/, the socket and the server log
    port: int
    run_as: list[str]  # runuser prefix when we are root, else empty
    ctl_log: Path  # what initdb and pg_ctl print

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def server_log(self) -> Path:
        return self.home / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{LOOPBACK}:{self.port}/postgres"

    def run(self, *argv: str) -> None:
        # output goes to a file, not a pipe: a pipe the postmaster inherited would make
        # us wait for the server to exit
        with self.ctl_log.open("ab") as out:
            out.write(f"\n$ {' '.join(argv)}\n".encode())
            out.flush()
            try:
                result = subprocess.run(
                    [*self.run_as, *argv],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=PG_CTL_TIMEOUT + 10,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                pytest.fail(f"{argv[0]} did not finish; {self.describe()}")
        if result.returncode != 0:
            pytest.fail(f"{' '.join(argv)} exited with {result.returncode}; {self.describe()}")

    def initdb(self) -> None:
        self.run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses={LOOPBACK} -c fsync=off"
        self.run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.server_log),
            "-o",
            options,
            "-t",
            str(PG_CTL_TIMEOUT),
            "-w",
            "start",
        )

    def crash(self) -> None:
        """Stop without a checkpoint, killing every backend: what a crash looks like."""
        self.run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-m",
            "immediate",
            "-t",
            str(PG_CTL_TIMEOUT),
            "-w",
            "stop",
        )

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def describe(self) -> str:
        return (
            f"pg_ctl/initdb output:\n{log_tail(self.ctl_log)}\n"
            f"PostgreSQL log:\n{log_tail(self.server_log)}"
        )


def find_bindir() -> Path:
    found = sorted(glob.glob(INITDB_GLOB))
    if not found:
        pytest.skip(
            f"this test runs a throwaway PostgreSQL and found no initdb ({INITDB_GLOB}); "
            "Debian: apt install postgresql"
        )
    return Path(found[-1]).parent  # the newest major version


def server_user() -> tuple[list[str], int, int] | None:
    """The runuser prefix, uid and gid to run the server as; None when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root, and initdb refuses root, but there is no postgres user")
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.fail("running as root, and initdb refuses root, but runuser is not on PATH")
    return [runuser, "-u", "postgres", "--"], account.pw_uid, account.pw_gid


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Postgres]:
    """A fresh cluster, started; stopped (immediate) and deleted at teardown."""
    bindir = find_bindir()
    user = server_user()
    # not under tmp_path: its parents need not be traversable by the postgres user
    parent = Path("/tmp")
    if user is not None and not parent.stat().st_mode & stat.S_IXOTH:
        pytest.fail(f"{parent} is not traversable by the postgres user")
    home = Path(tempfile.mkdtemp(prefix="pmr-outage-pg-", dir=parent))
    server = Postgres(
        bindir=bindir,
        home=home,
        port=free_port(),
        run_as=user[0] if user else [],
        ctl_log=tmp_path / "pg_ctl.log",
    )
    try:
        if user is not None:
            os.chown(home, user[1], user[2])
        home.chmod(0o700)
        server.initdb()
        server.start()
        yield server
    finally:
        try:
            if server.running():
                stop = ["-D", str(server.data), "-m", "immediate", "-w", "stop"]
                subprocess.run(
                    [*server.run_as, str(bindir / "pg_ctl"), *stop],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=PG_CTL_TIMEOUT + 10,
                    check=False,
                )
            if server.server_log.exists():
                shutil.copyfile(server.server_log, tmp_path / "postgres.log")
            # shown when the test failed
            print(f"\n--- PostgreSQL on port {server.port} ---\n{server.describe()}")
        finally:
            shutil.rmtree(home, ignore_errors=True)


# -- webhooks and what the receiver answered ---------------------------------------------


BASES = ("firing_group_3", "firing_single")


def distinct_webhook(index: int) -> dict[str, Any]:
    """A real Alertmanager capture (firing_group_3 or firing_single) with its identifiers
    changed, so that every index is a group of its own: the service label (in each alert,
    groupLabels and commonLabels), the groupKey and each alert's fingerprint."""
    body = copy.deepcopy(capture(BASES[index % len(BASES)]))
    alertname = body["groupLabels"]["alertname"]
    service = f"{body['groupLabels']['service']}-{index:03d}"
    for labels in (
        body["groupLabels"],
        body["commonLabels"],
        *(a["labels"] for a in body["alerts"]),
    ):
        labels["service"] = service
    body["groupKey"] = f'{{}}:{{alertname="{alertname}", service="{service}"}}'
    for alert in body["alerts"]:
        seed = f"{alert['fingerprint']}/{index}".encode()
        alert["fingerprint"] = hashlib.sha256(seed).hexdigest()[:16]
    return body


@dataclass(frozen=True)
class Attempt:
    status: int | None  # None: no HTTP answer (timeout, connection error)
    text: str
    sent: float  # time.monotonic()
    answered: float


@dataclass
class Delivery:
    """One webhook body and every answer it got, like one notification in Alertmanager."""

    index: int
    body: bytes
    group_key: str
    fingerprints: frozenset[str]
    attempts: list[Attempt] = field(default_factory=list)

    @classmethod
    def make(cls, index: int) -> Delivery:
        data = distinct_webhook(index)
        return cls(
            index=index,
            body=json.dumps(data, ensure_ascii=False).encode(),
            group_key=data["groupKey"],
            fingerprints=frozenset(alert["fingerprint"] for alert in data["alerts"]),
        )

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def statuses(self) -> list[int | None]:
        return [attempt.status for attempt in self.attempts]

    @property
    def accepted(self) -> bool:
        return any(status in OK for status in self.statuses)

    @property
    def last_ok(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].status in OK


async def deliver(http: aiohttp.ClientSession, receiver: Service, delivery: Delivery) -> Attempt:
    headers = {**AUTH, "Content-Type": "application/json"}
    sent = time.monotonic()
    status: int | None
    try:
        async with http.post(
            f"{receiver.base_url}/api/v1/alerts", data=delivery.body, headers=headers
        ) as response:
            status, text = response.status, await response.text()
    except (aiohttp.ClientError, TimeoutError) as exc:
        status, text = None, f"{type(exc).__name__}: {exc}"
    attempt = Attempt(status, text, sent, time.monotonic())
    delivery.attempts.append(attempt)
    return attempt


async def keep_sending(
    http: aiohttp.ClientSession,
    receiver: Service,
    deliveries: list[Delivery],
    first_index: int,
) -> None:
    """One new webhook every SEND_INTERVAL, each in its own task so that a slow answer
    does not hold the next one back (Alertmanager notifies groups concurrently)."""
    async with asyncio.TaskGroup() as group:
        for index in range(first_index, first_index + SENDER_COUNT):
            delivery = Delivery.make(index)
            deliveries.append(delivery)
            group.create_task(deliver(http, receiver, delivery))
            await asyncio.sleep(SEND_INTERVAL)


@contextlib.asynccontextmanager
async def in_background(work: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(work)
    try:
        yield task
    finally:
        task.cancel()  # a no-op when it finished; else an assertion left it running
        await asyncio.gather(task, return_exceptions=True)


async def retry_until_accepted(
    http: aiohttp.ClientSession, receiver: Service, delivery: Delivery, deadline: float
) -> None:
    """What Alertmanager does after a 5xx: retry with backoff until a 2xx."""
    delay = 0.1
    while not delivery.last_ok and time.monotonic() < deadline:
        await deliver(http, receiver, delivery)
        if not delivery.last_ok:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


async def get_status(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url, headers=AUTH) as response:  # /readyz's detail needs credentials
        return response.status, await response.json()


def describe(deliveries: list[Delivery]) -> str:
    lines = []
    for d in deliveries:
        last = d.attempts[-1].text[:200] if d.attempts else ""
        lines.append(f"  #{d.index} {d.group_key}: {d.statuses} {last}")
    return "\n".join(lines)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield session


# -- the test ----------------------------------------------------------------------------


async def test_postgres_outage_503_then_recovery_without_restart(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres: Postgres,
    http: aiohttp.ClientSession,
) -> None:
    began = time.monotonic()
    receiver, process = start_receiver(request, tmp_path, database_url=postgres.url)
    pid = process.pid
    deliveries: list[Delivery] = []

    # -- phase 1: PostgreSQL is up: every webhook is stored and answered 201 ------------
    for index in range(FIRST_COUNT):
        delivery = Delivery.make(index)
        deliveries.append(delivery)
        attempt = await deliver(http, receiver, delivery)
        assert attempt.status == 202, f"webhook #{index} while up: {attempt}"

    # -- phase 2: PostgreSQL crashes while webhooks keep coming ------------------------
    async with in_background(keep_sending(http, receiver, deliveries, FIRST_COUNT)) as sender:
        await asyncio.sleep(STOP_AFTER)
        # a burst right as the crash starts, so that some transactions are cut mid-way
        burst = [Delivery.make(BURST_BASE + offset) for offset in range(BURST)]
        deliveries.extend(burst)
        in_flight = [asyncio.create_task(deliver(http, receiver, d)) for d in burst]
        await asyncio.to_thread(postgres.crash)
        down_at = time.monotonic()
        await asyncio.gather(*in_flight)

        async def not_ready() -> dict[str, Any] | None:
            status, body = await get_status(http, f"{receiver.base_url}/readyz")
            return body if status == 503 else None

        readiness: dict[str, Any] = await poll("/readyz to answer 503", not_ready, DOWN_FOR)
        assert readiness["status"] == "not_ready", readiness
        assert readiness["checks"]["store"].startswith("unavailable"), readiness
        status, health = await get_status(http, f"{receiver.base_url}/healthz")
        assert (status, health) == (200, {"status": "ok"}), (
            "liveness must not depend on the database"
        )
        await asyncio.sleep(max(0.0, down_at + DOWN_FOR - time.monotonic()))

        restart_began = time.monotonic()
        await asyncio.to_thread(postgres.start)
        up_at = time.monotonic()

        # -- phase 3: back up: the same receiver recovers; Alertmanager retries ---------
        async def ready() -> dict[str, Any] | None:
            status, body = await get_status(http, f"{receiver.base_url}/readyz")
            return body if status == 200 else None

        # the sender is still running: live traffic meets the receiver's recovery
        readiness = await poll("/readyz to answer 200 again", ready, READY_TIMEOUT)
        ready_after = time.monotonic() - up_at
        assert readiness["status"] == "ready", readiness
        assert readiness["checks"] == {"store": "ok", "schema": "ok", "drafts_dir": "ok"}
        assert readiness["inbox"]["quarantined"] == 0, readiness
        assert not sender.done(), "the sender ended before PostgreSQL came back"
        await sender

    failed = [d for d in deliveries if not d.last_ok]
    deadline = time.monotonic() + RETRY_DEADLINE
    async with asyncio.TaskGroup() as group:
        for delivery in failed:
            group.create_task(retry_until_accepted(http, receiver, delivery, deadline))
    never = [d for d in deliveries if not d.last_ok]
    assert not never, f"never accepted after PostgreSQL came back:\n{describe(never)}"

    # a few deliveries again that already got a 2xx: applied as duplicates, no change
    again = [deliveries[0], deliveries[-1], *failed[:1], *failed[-1:]][:DUPLICATES]
    for delivery in again:
        attempt = await deliver(http, receiver, delivery)
        assert attempt.status == 202, f"duplicate #{delivery.index}: {attempt}"
        entry = await wait_applied(
            http, json.loads(attempt.text), base=receiver.base_url, headers=AUTH
        )
        assert entry["outcome"] == "unchanged", (delivery.index, entry)

    # -- what the receiver answered ----------------------------------------------------
    attempts = [attempt for d in deliveries for attempt in d.attempts]
    unexpected = [d for d in deliveries if any(s not in {*OK, 503} for s in d.statuses)]
    assert not unexpected, (
        "every answer must be 2xx or 503 (no 500, no hang, no dropped connection):\n"
        f"{describe(unexpected)}\nreceiver log:\n{log_tail(receiver.log_path)}"
    )
    for attempt in attempts:
        if attempt.status == 503:
            assert json.loads(attempt.text)["error"] == "store_unavailable", attempt
    # sent after the crash completed and answered before the restart began: only 503
    during = [a for a in attempts if a.sent >= down_at and a.answered <= restart_began]
    assert during, "no webhook was answered while PostgreSQL was down: nothing was tested"
    assert {a.status for a in during} == {503}, [a for a in during if a.status != 503]
    unavailable = [a for a in attempts if a.status == 503]
    assert unavailable, "no webhook got a 503: the outage was not tested"
    slowest = max(a.answered - a.sent for a in attempts)
    recovered = [a for a in attempts if a.sent >= up_at and a.status in OK]
    first_ok_after = min(a.answered for a in recovered) - up_at if recovered else None

    # -- every webhook that got a 2xx is stored, exactly once --------------------------
    assert all(d.accepted for d in deliveries)
    await drained(http, base=receiver.base_url, headers=AUTH)
    listing = await get_json(http, f"{receiver.base_url}/api/v1/incidents?limit=500")
    assert listing["total"] == len(deliveries), (
        f"{listing['total']} incidents for {len(deliveries)} distinct webhooks"
    )
    by_key = Counter(incident["group_key"] for incident in listing["incidents"])
    assert by_key == Counter(d.group_key for d in deliveries), "one incident per group"
    ids = {incident["group_key"]: incident["id"] for incident in listing["incidents"]}
    for delivery in deliveries:
        url = f"{receiver.base_url}/api/v1/incidents/{ids[delivery.group_key]}"
        detail = await get_json(http, url)
        what = f"webhook #{delivery.index} ({delivery.statuses})"
        assert detail["status"] == "firing", what
        fingerprints = [alert["fingerprint"] for alert in detail["alerts"]]
        assert sorted(fingerprints) == sorted(delivery.fingerprints), what
        kinds = Counter(row["kind"] for row in detail["timeline"])
        expected = {"alert_fired": len(delivery.fingerprints), "incident_opened": 1}
        assert kinds == expected, what

    conn = await asyncpg.connect(postgres.url)
    try:
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM incidents) AS incidents,"
            " (SELECT count(*) FROM episodes) AS episodes,"
            " (SELECT count(*) FROM timeline) AS timeline"
        )
        inbox_rows = await conn.fetch(
            "SELECT body_sha256, count(*) AS n FROM inbox GROUP BY body_sha256"
        )
    finally:
        await conn.close()
    alerts = sum(len(d.fingerprints) for d in deliveries)
    assert dict(counts) == {
        "incidents": len(deliveries),
        "episodes": alerts,
        "timeline": alerts + len(deliveries),
    }
    inbox = {row["body_sha256"]: row["n"] for row in inbox_rows}
    for delivery in deliveries:
        oks = sum(1 for status in delivery.statuses if status in OK)
        # every 2xx committed its body; a 503 may have hit a commit whose answer was lost
        assert oks <= inbox.get(delivery.sha256, 0) <= len(delivery.attempts), (
            f"webhook #{delivery.index} {delivery.statuses}: "
            f"{inbox.get(delivery.sha256, 0)} inbox rows"
        )

    # -- the same receiver process did all of it ----------------------------------------
    assert process.pid == pid
    assert process.poll() is None, f"the receiver exited with {process.returncode}"

    retried = [d for d in deliveries if 503 in d.statuses]
    # a 503 whose transaction had committed (the answer to COMMIT was lost in the crash)
    duplicates_on_retry = [
        d
        for d in retried
        if inbox.get(d.sha256, 0) > sum(1 for status in d.statuses if status in OK)
    ]
    print(
        f"\noutage test: {len(deliveries)} webhooks, {len(attempts)} attempts, "
        f"{len(unavailable)} answered 503 ({len(retried)} webhooks retried, "
        f"{len(duplicates_on_retry)} of them already stored), "
        f"PostgreSQL down {restart_began - down_at:.2f}s + restart {up_at - restart_began:.2f}s, "
        f"/readyz 200 {ready_after:.2f}s after restart, first 2xx of a webhook sent after "
        f"restart {first_ok_after if first_ok_after is None else round(first_ok_after, 2)}s, "
        f"slowest answer {slowest:.2f}s, whole test {time.monotonic() - began:.1f}s"
    )
