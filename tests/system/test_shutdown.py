"""SIGTERM under load against `serve`, and `check-config` as a command: real processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy.engine import make_url

from receiver.store.spool import spool_path, unpacked
from tests.conftest import as_group, capture, fresh_postgres_database
from tests.inbox import drained
from tests.processes import AUTH, LOOPBACK, free_port, log_tail, start_receiver

JSON = {"Content-Type": "application/json"}


# -- 3. SIGTERM under load ---------------------------------------------------------------

LOAD = 200
CONCURRENCY = 16
SIGNAL_AFTER = 50  # answered webhooks before SIGTERM
GRACE = "10s"  # RECEIVER_SHUTDOWN_GRACE
EXIT_WAIT = 30.0  # the grace period plus a generous margin
REQUEST_TIMEOUT = 15.0
LOAD_DEADLINE = 60.0
OK = frozenset({202})  # durably in the inbox; applied behind the answer


def load_bodies() -> list[tuple[str, bytes]]:
    """LOAD distinct alert groups: the real firing_single capture with only its identifiers
    changed (service in groupKey and labels, last four hex digits of the fingerprint)."""
    original = capture("firing_single")
    bodies = []
    for index in range(LOAD):
        body = as_group(original, index)
        bodies.append((body["groupKey"], json.dumps(body, ensure_ascii=False).encode()))
    assert len({key for key, _ in bodies}) == LOAD
    return bodies


@dataclass(frozen=True)
class Outcome:
    index: int
    started: float
    finished: float
    status: int | None  # None: no HTTP answer (connection refused, reset, closed)
    error: str = ""


@dataclass
class Load:
    bodies: list[tuple[str, bytes]]
    signal_after: int
    started: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    # set once signal_after answers (or failures) are in, or when the load ends
    answered_enough: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, http: aiohttp.ClientSession, url: str) -> None:
        """CONCURRENCY senders through every body once, each answer or failure recorded."""
        indexes = iter(range(len(self.bodies)))  # shared: each index is taken once

        async def sender() -> None:
            for index in indexes:
                self.started += 1
                began = time.monotonic()
                status: int | None = None
                error = ""
                try:
                    async with http.post(
                        url, data=self.bodies[index][1], headers={**AUTH, **JSON}
                    ) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                self.outcomes.append(Outcome(index, began, time.monotonic(), status, error))
                if len(self.outcomes) >= self.signal_after:
                    self.answered_enough.set()

        try:
            await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
        finally:
            self.answered_enough.set()


INCIDENT_KEYS = "SELECT group_key, count(*) FROM incidents GROUP BY group_key"
INBOX_BODIES = "SELECT body FROM inbox"


def stored_group_keys(database_url: str) -> Counter[str]:
    """group_key -> number of incidents, read from the database directly."""
    return Counter({str(key): int(n) for key, n in query(database_url, INCIDENT_KEYS)})


def inbox_group_keys(database_url: str) -> Counter[str]:
    """group_key -> number of bodies in the inbox (accepted, applied or not): on SQLite
    also those its own file still holds, not yet moved into the main file."""
    bodies = [body for (body,) in query(database_url, INBOX_BODIES)]
    if database_url.startswith("sqlite"):
        path = make_url(database_url).database
        assert path
        largest = query(database_url, "SELECT coalesce(max(id), 0) FROM inbox")[0][0]
        if spool_path(path).exists():
            with contextlib.closing(sqlite3.connect(spool_path(path))) as conn:
                spooled = conn.execute("SELECT body FROM inbox_spool WHERE id > ?", (largest,))
                bodies += [unpacked(body) for (body,) in spooled]
    return Counter(json.loads(body)["groupKey"] for body in bodies)


def query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    if database_url.startswith("sqlite"):
        path = make_url(database_url).database
        assert path
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return [tuple(row) for row in conn.execute(sql)]
    return asyncio.run(_postgres_query(database_url, sql))


async def _postgres_query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(database_url)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def process_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'receiver.db'}"
    else:
        yield from fresh_postgres_database()


def unclean_lines(log: str) -> list[str]:
    markers = ("Traceback", "Task was destroyed", "Unclosed", "was never awaited", "Exception")
    bad = []
    for line in log.splitlines():
        if any(marker in line for marker in markers):
            bad.append(line)
            continue
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
                bad.append(line)
    return bad


async def wait_exit(process: subprocess.Popen[bytes], seconds: float) -> float | None:
    """Seconds until the process exited by itself, or None after `seconds`."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        if process.poll() is not None:
            return time.monotonic() - began
        await asyncio.sleep(0.02)
    return None


async def test_sigterm_under_load_loses_nothing_it_acknowledged(
    request: pytest.FixtureRequest, tmp_path: Path, process_database: str
) -> None:
    extra_env = {"RECEIVER_SHUTDOWN_GRACE": GRACE}
    service, process = start_receiver(
        request, tmp_path, database_url=process_database, extra_env=extra_env
    )
    bodies = load_bodies()
    load = Load(bodies, SIGNAL_AFTER)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        sending = asyncio.create_task(load.run(http, f"{service.base_url}/api/v1/alerts"))
        async with asyncio.timeout(LOAD_DEADLINE):
            await load.answered_enough.wait()
        assert not sending.done(), "the load ended before the signal"
        answered_at_signal = len(load.outcomes)
        in_flight_at_signal = load.started - answered_at_signal
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(LOAD_DEADLINE):
            _, exited_after = await asyncio.gather(sending, wait_exit(process, EXIT_WAIT))

    log = service.log_path.read_text(encoding="utf-8", errors="replace")
    assert exited_after is not None, (
        f"still running {EXIT_WAIT}s after SIGTERM:\n{log_tail(service.log_path)}"
    )
    assert process.returncode == 0, log_tail(service.log_path)
    assert len(load.outcomes) == LOAD

    before = [o for o in load.outcomes if o.finished <= signalled]
    across = [o for o in load.outcomes if o.started < signalled < o.finished]
    after = [o for o in load.outcomes if o.started >= signalled]
    assert len(before) + len(across) + len(after) == LOAD
    assert {o.status for o in before} == {202}, [o for o in before if o.status != 202]

    def summary(outcomes: list[Outcome]) -> dict[str, int]:
        return dict(
            Counter(
                str(o.status) if o.status is not None else o.error.split(":")[0] for o in outcomes
            )
        )

    # never anything but a 2xx (stored), a 503, or no HTTP answer at all
    wrong = [o for o in load.outcomes if o.status is not None and o.status not in OK | {503}]
    assert not wrong, wrong

    # stored means in the inbox: what was not applied before the exit is applied later
    accepted = {bodies[o.index][0] for o in load.outcomes if o.status in OK}
    stored = await asyncio.to_thread(inbox_group_keys, process_database)
    assert accepted, "nothing was accepted"
    missing = sorted(key for key in accepted if stored[key] == 0)
    assert not missing, f"{len(missing)} webhooks answered 2xx are not stored: {missing[:5]}"
    assert sum(stored[key] for key in accepted) == len(accepted)  # exactly once each
    assert set(stored) <= {key for key, _ in bodies}
    assert all(count == 1 for count in stored.values()), stored.most_common(3)
    applied_before_exit = await asyncio.to_thread(stored_group_keys, process_database)
    assert set(applied_before_exit) <= set(stored)
    assert set(applied_before_exit.values()) <= {1}
    stored_unanswered = len(set(stored) - accepted)

    unclean = unclean_lines(log)
    assert not unclean, "\n".join(unclean[:20])

    # the same database again: re-send what got no 2xx, as Alertmanager would retry it
    retry = [o.index for o in load.outcomes if o.status not in OK]
    restarted, _ = start_receiver(
        request,
        tmp_path,
        database_url=process_database,
        name="receiver-restarted",
        extra_env=extra_env,
    )
    statuses: Counter[int] = Counter()
    async with aiohttp.ClientSession(timeout=timeout) as http:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def resend(index: int) -> int:
            async with (
                gate,
                http.post(
                    f"{restarted.base_url}/api/v1/alerts",
                    data=bodies[index][1],
                    headers={**AUTH, **JSON},
                ) as response,
            ):
                await response.read()
                return response.status

        async with asyncio.timeout(LOAD_DEADLINE):
            statuses.update(await asyncio.gather(*(resend(index) for index in retry)))
            await drained(http, base=restarted.base_url, headers=AUTH)
    assert set(statuses) <= OK, statuses
    # stored without an answer, then re-sent: two bodies in the inbox, applied once
    inbox = await asyncio.to_thread(inbox_group_keys, process_database)
    assert sum(1 for count in inbox.values() if count == 2) == stored_unanswered

    stored = await asyncio.to_thread(stored_group_keys, process_database)
    assert sum(stored.values()) == LOAD
    assert set(stored) == {key for key, _ in bodies}
    assert set(stored.values()) == {1}

    print(
        f"\nSIGTERM after {answered_at_signal} answers, {in_flight_at_signal} in flight; "
        f"exited 0 after {exited_after:.2f}s; answered before: {summary(before)}, "
        f"in flight at the signal: {summary(across)}, sent after: {summary(after)}; "
        f"stored without a 2xx: {stored_unanswered}; re-sent {len(retry)}: {dict(statuses)}"
    )


# -- 4. check-config ---------------------------------------------------------------------


def check_config(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith("RECEIVER_")}
    base.update(
        RECEIVER_DATABASE_URL=f"sqlite:///{tmp_path / 'check.db'}",
        RECEIVER_DRAFTS_DIR=str(tmp_path / "drafts"),
        RECEIVER_LOG_FORMAT="json",
        RECEIVER_LANGUAGE="en",
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "receiver", "check-config", *args],
        cwd=tmp_path,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_config_ok(tmp_path: Path) -> None:
    result = check_config(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok:"), result.stdout
    assert "templates (zh, en)" in result.stdout
    assert "drafts directory" in result.stdout
    assert "database" in result.stdout
    assert "problem" not in result.stderr


BROKEN_TEMPLATE = """\
# 事故后分析：{{ v.title }}

{{ v.incident.title ) }}
"""


def test_check_config_names_a_broken_template_and_its_line(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "postmortem.zh.md.j2").write_text(BROKEN_TEMPLATE, encoding="utf-8")
    result = check_config(tmp_path, RECEIVER_TEMPLATE_DIR=str(templates))
    assert result.returncode == 1, result
    problems = [line for line in result.stderr.splitlines() if line.startswith("problem:")]
    assert len(problems) == 1, result.stderr
    assert "postmortem.zh.md.j2" in problems[0]
    assert "(line 3)" in problems[0]
    assert "TemplateSyntaxError" in problems[0]
    assert "ok:" not in result.stdout


def test_check_config_names_an_unwritable_drafts_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a regular file\n")
    drafts = blocker / "drafts"
    result = check_config(tmp_path, RECEIVER_DRAFTS_DIR=str(drafts))
    assert result.returncode == 1, result
    assert f"problem: drafts directory {drafts} is not writable" in result.stderr
    assert "ok:" not in result.stdout


def test_check_config_bad_timezone_exits_2(tmp_path: Path) -> None:
    result = check_config(tmp_path, RECEIVER_TIMEZONE="Mars/Olympus_Mons")
    assert result.returncode == 2, result
    assert "RECEIVER_TIMEZONE" in result.stderr
    assert "Mars/Olympus_Mons" in result.stderr
    assert result.stdout == ""


def test_check_config_unreachable_postgres_and_offline(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://x@{LOOPBACK}:{port}/db"
    result = check_config(tmp_path, RECEIVER_DATABASE_URL=url)
    assert result.returncode == 1, result
    problems = [line for line in result.stderr.splitlines() if line.startswith("problem:")]
    assert len(problems) == 1, result.stderr
    assert problems[0].startswith(
        f"problem: cannot use the database postgresql://x@{LOOPBACK}:{port}/db: "
    )
    assert "ok:" not in result.stdout

    offline = check_config(tmp_path, "--offline", RECEIVER_DATABASE_URL=url)
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.startswith("ok:")
    assert "database" not in offline.stdout
