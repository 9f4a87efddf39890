"""Issue 6: what operators rely on around the service's life: metrics, probes, SIGTERM,
check-config.

- /metrics reads real values after real requests (in process, on both backends), and its
  names follow Prometheus conventions; RECEIVER_METRICS_PUBLIC decides whether it needs
  credentials.
- /healthz and /readyz answer, and /readyz names an unwritable drafts directory.
- A real receiver process under load gets SIGTERM: it stops by itself with exit code 0,
  every webhook it answered 2xx is stored, the rest were refused (never a 2xx for
  something missing), and after a restart re-sending them loses and doubles nothing.
- `python -m receiver check-config` exits 0, 1 or 2 and names each problem.

Speed is measured, not asserted: the probes' timings are only printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from receiver.app import create_app
from receiver.config import Settings
from receiver.metrics import PREFIX
from tests.conftest import Clock, as_group, capture, capture_text, fresh_postgres_database
from tests.processes import AUTH, LOOPBACK, TOKEN, free_port, log_tail, start_receiver

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
JSON = {"Content-Type": "application/json"}

# -- helpers -----------------------------------------------------------------------------


def rfc3339(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Scrape:
    """One /metrics answer: the raw text and every sample, by name and exact labels."""

    text: str
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]
    types: dict[str, str]  # family name as the parser reports it -> type

    def value(self, name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        if key not in self.samples:
            known = sorted(f"{n}{dict(sorted(ls))}" for n, ls in self.samples if n.startswith(name))
            pytest.fail(f"no sample {name}{labels}; samples of that name: {known}")
        return self.samples[key]


def parse_scrape(text: str) -> Scrape:
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, f"sample {key} appears twice"
            samples[key] = sample.value
    return Scrape(text, samples, types)


async def scrape(client: TestClient[Any, Any], **headers: str) -> Scrape:
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/plain"
    return parse_scrape(await response.text())


async def post_webhook(client: TestClient[Any, Any], body: str | bytes) -> tuple[int, Any]:
    response = await client.post("/api/v1/alerts", data=body, headers=JSON)
    return response.status, await response.json()


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, settings: Settings, clock: Clock
) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(settings, clock=clock))


# -- 1. metrics --------------------------------------------------------------------------


async def test_metrics_read_real_values_after_real_requests(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    firing = capture("firing_group_3")
    resolved = capture("resolved_group_3")
    first_start = min(rfc3339(alert["startsAt"]) for alert in firing["alerts"])
    webhook_posts = 0

    status, body = await post_webhook(client, capture_text("firing_group_3"))
    webhook_posts += 1
    assert (status, body["status"], body["incident_status"]) == (201, "accepted", "firing")

    clock.advance(seconds=4)
    status, body = await post_webhook(client, capture_text("firing_group_3"))  # a retry
    webhook_posts += 1
    assert (status, body["status"]) == (200, "duplicate")

    status, body = await post_webhook(client, b'{"version": "4", "alerts": [')
    webhook_posts += 1
    assert (status, body["error"]) == (400, "malformed")

    # a person acknowledges between firing and resolve (alert-webhook.sh posts a form)
    acked_at = clock.advance(seconds=26)
    response = await client.post(
        "/api/v1/events",
        data={
            "type": "ack",
            "service": "payments",
            "message": "值班已确认，正在排查 payments 延迟",
            "actor": "zhang.san",
        },
    )
    assert response.status == 201, await response.text()
    assert (await response.json())["status"] == "recorded"

    clock.advance(seconds=30)
    status, body = await post_webhook(client, capture_text("resolved_group_3"))
    webhook_posts += 1
    assert (status, body["incident_status"]) == (200, "drafted"), body

    metrics = await scrape(client)
    p = PREFIX
    webhooks = f"{p}_webhooks_received_total"
    assert metrics.value(webhooks, result="accepted", reason="") == 2
    assert metrics.value(webhooks, result="duplicate", reason="") == 1
    assert metrics.value(webhooks, result="rejected", reason="malformed") == 1
    results = {dict(labels)["result"] for name, labels in metrics.samples if name == webhooks}
    assert results == {"accepted", "duplicate", "rejected"}
    assert metrics.value(f"{p}_webhook_duration_seconds_count") == webhook_posts

    assert metrics.value(f"{p}_incidents_opened_total", severity="P2") == 1
    assert metrics.value(f"{p}_incidents_recovered_total", severity="P2") == 1

    # MTTR: from the first alert's startsAt to the last endsAt, as Alertmanager sent them
    duration = max(rfc3339(a["endsAt"]) for a in resolved["alerts"]) - first_start
    assert duration.total_seconds() == pytest.approx(3.351)
    assert metrics.value(f"{p}_incident_duration_seconds_count", severity="P2") == 1
    assert metrics.value(f"{p}_incident_duration_seconds_sum", severity="P2") == pytest.approx(
        duration.total_seconds(), abs=1e-6
    )

    # acknowledged at the clock's time of the ack event
    to_ack = (acked_at - first_start).total_seconds()
    assert to_ack == pytest.approx(41.405)
    assert metrics.value(f"{p}_time_to_acknowledge_seconds_count", severity="P2") == 1
    assert metrics.value(f"{p}_time_to_acknowledge_seconds_sum", severity="P2") == pytest.approx(
        to_ack, abs=1e-6
    )
    assert metrics.value(f"{p}_time_to_acknowledge_seconds_bucket", severity="P2", le="60.0") == 1
    assert metrics.value(f"{p}_time_to_acknowledge_seconds_bucket", severity="P2", le="+Inf") == 1

    assert metrics.value(f"{p}_drafts_rendered_total", result="stored") >= 1
    assert metrics.value(f"{p}_draft_render_seconds_count") >= 1
    assert metrics.value(f"{p}_draft_exports_total", result="written") >= 1
    assert metrics.value(f"{p}_manual_events_total", type="ack") == 1

    open_incidents = f"{p}_open_incidents"
    assert metrics.value(open_incidents, severity="P2", status="drafted") == 1
    assert metrics.value(open_incidents, severity="P2", status="firing") == 0
    others = {
        labels: value
        for (name, labels), value in metrics.samples.items()
        if name == open_incidents
        and labels != frozenset({("severity", "P2"), ("status", "drafted")})
    }
    assert others
    assert set(others.values()) == {0}
    assert not [name for name, _ in metrics.samples if name == f"{p}_store_errors_total"]

    check_naming(metrics)


def check_naming(metrics: Scrape) -> None:
    """Prometheus conventions, read from the text format itself: one prefix for every
    name, `_total` on every counter and its samples, seconds for every histogram."""
    declared: dict[str, str] = {}
    current, kind = "", ""
    for line in metrics.text.splitlines():
        if line.startswith("# TYPE "):
            _, _, current, kind = line.split(" ", 3)
            declared[current] = kind
        elif line and not line.startswith("#"):
            name = line.split("{", 1)[0].split(" ", 1)[0]
            assert name.startswith(f"{PREFIX}_"), line
            if kind == "counter":
                assert name == current, line
                assert name.endswith("_total"), line
            else:
                assert name.startswith(current), line
    assert not [name for name in declared if not name.startswith(f"{PREFIX}_")]
    counters = [name for name, kind in declared.items() if kind == "counter"]
    assert {
        f"{PREFIX}_{name}_total"
        for name in (
            "webhooks_received",
            "incidents_opened",
            "incidents_recovered",
            "drafts_rendered",
            "draft_exports",
            "manual_events",
            "reconcile_runs",
            "store_errors",
        )
    } <= set(counters)
    assert not [name for name in counters if not name.endswith("_total")]
    histograms = [name for name, kind in declared.items() if kind == "histogram"]
    assert {
        f"{PREFIX}_{name}_seconds"
        for name in ("webhook_duration", "incident_duration", "time_to_acknowledge", "draft_render")
    } <= set(histograms)
    assert not [name for name in histograms if not name.endswith("_seconds")]
    assert declared[f"{PREFIX}_open_incidents"] == "gauge"
    # the parser agrees: counter families hold only their _total samples
    for family, family_kind in metrics.types.items():
        if family_kind == "counter":
            names = {name for name, _ in metrics.samples if name.startswith(family + "_")}
            assert names <= {f"{family}_total", f"{family}_created"}, names


@pytest.mark.parametrize("public", [True, False], ids=["public", "protected"])
async def test_metrics_public_setting(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], public: bool
) -> None:
    settings = make_settings(auth_token=TOKEN, metrics_public=public)
    client = await aiohttp_client(create_app(settings))

    # the API itself needs the token either way
    assert (await client.get("/api/v1/incidents")).status == 401

    anonymous = await client.get("/metrics")
    if public:
        assert anonymous.status == 200
        assert f"{PREFIX}_webhooks_received_total" in await anonymous.text()
    else:
        assert anonymous.status == 401
        assert (await anonymous.json())["error"] == "unauthenticated"
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status == 401
    with_token = await client.get("/metrics", headers=AUTH)
    assert with_token.status == 200
    parse_scrape(await with_token.text())


# -- 2. probes ---------------------------------------------------------------------------

PROBE_CALLS = 20


async def probe_many(client: TestClient[Any, Any], path: str) -> tuple[set[int], list[Any], float]:
    """PROBE_CALLS answers of one probe: their statuses, bodies and the median time (ms)."""
    statuses, bodies, times = set(), [], []
    for _ in range(PROBE_CALLS):
        started = time.perf_counter()
        response = await client.get(path)
        body = await response.json()
        times.append((time.perf_counter() - started) * 1000)
        statuses.add(response.status)
        bodies.append(body)
    return statuses, bodies, statistics.median(times)


async def test_healthz_and_readyz(client: TestClient[Any, Any], settings: Settings) -> None:
    statuses, bodies, healthz_ms = await probe_many(client, "/healthz")
    assert statuses == {200}
    assert all(body == {"status": "ok"} for body in bodies)

    statuses, bodies, readyz_ms = await probe_many(client, "/readyz")
    assert statuses == {200}
    expected = {"status": "ready", "checks": {"store": "ok", "schema": "ok", "drafts_dir": "ok"}}
    assert all(body == expected for body in bodies), bodies[0]
    assert settings.drafts_dir is not None
    assert settings.drafts_dir.is_dir()
    assert list(settings.drafts_dir.iterdir()) == []  # the probe file is gone
    print(f"median over {PROBE_CALLS}: /healthz {healthz_ms:.2f} ms, /readyz {readyz_ms:.2f} ms")


async def test_readyz_names_an_unwritable_drafts_dir(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    # a path under a regular file: mkdir fails with ENOTDIR, even for root
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the drafts directory's parent should be\n")
    drafts = blocker / "drafts"
    client = await aiohttp_client(create_app(make_settings(drafts_dir=drafts)))

    response = await client.get("/readyz")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "not_ready"
    checks = body["checks"]
    assert (checks["store"], checks["schema"]) == ("ok", "ok")
    assert checks["drafts_dir"].startswith(f"drafts directory {drafts} is not writable"), checks
    assert "Not a directory" in checks["drafts_dir"]

    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}
    # alerts are still taken: the database, not the directory, is the source
    status, body = await post_webhook(client, capture_text("firing_single"))
    assert status == 201, body


# -- 3. SIGTERM under load ---------------------------------------------------------------

LOAD = 200
CONCURRENCY = 16
SIGNAL_AFTER = 50  # answered webhooks before SIGTERM
GRACE = "10s"  # RECEIVER_SHUTDOWN_GRACE
EXIT_WAIT = 30.0  # the grace period plus a generous margin
REQUEST_TIMEOUT = 15.0
LOAD_DEADLINE = 60.0
OK = frozenset({200, 201})


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


def stored_group_keys(database_url: str) -> Counter[str]:
    """group_key -> number of incidents, read from the database directly."""
    if database_url.startswith("sqlite"):
        path = make_url(database_url).database
        assert path
        with contextlib.closing(sqlite3.connect(path)) as conn:
            rows = conn.execute("SELECT group_key, count(*) FROM incidents GROUP BY group_key")
            return Counter({str(key): int(n) for key, n in rows})
    return asyncio.run(_postgres_group_keys(database_url))


async def _postgres_group_keys(database_url: str) -> Counter[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT group_key, count(*) AS n FROM incidents GROUP BY 1")
    finally:
        await conn.close()
    return Counter({str(row["group_key"]): int(row["n"]) for row in rows})


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
    assert {o.status for o in before} == {201}, [o for o in before if o.status != 201]

    def summary(outcomes: list[Outcome]) -> dict[str, int]:
        return dict(
            Counter(
                str(o.status) if o.status is not None else o.error.split(":")[0] for o in outcomes
            )
        )

    # never anything but a 2xx (stored), a 503, or no HTTP answer at all
    wrong = [o for o in load.outcomes if o.status is not None and o.status not in OK | {503}]
    assert not wrong, wrong

    accepted = {bodies[o.index][0] for o in load.outcomes if o.status in OK}
    stored = await asyncio.to_thread(stored_group_keys, process_database)
    assert accepted, "nothing was accepted"
    missing = sorted(key for key in accepted if stored[key] == 0)
    assert not missing, f"{len(missing)} webhooks answered 2xx are not stored: {missing[:5]}"
    assert sum(stored[key] for key in accepted) == len(accepted)  # exactly once each
    assert set(stored) <= {key for key, _ in bodies}
    assert all(count == 1 for count in stored.values()), stored.most_common(3)
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
    assert set(statuses) <= OK, statuses
    assert statuses[200] == stored_unanswered  # stored without an answer: now a duplicate

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
    assert problems[0].startswith(f"problem: database {LOOPBACK}:{port}/db: ")
    assert "ok:" not in result.stdout

    offline = check_config(tmp_path, "--offline", RECEIVER_DATABASE_URL=url)
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.startswith("ok:")
    assert "database" not in offline.stdout


async def test_readyz_detail_and_the_api_document_need_credentials(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    # the kubelet probes without credentials: it gets the verdict, not paths and errors
    client = await aiohttp_client(create_app(make_settings(auth_token=TOKEN)))
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        anonymous = await client.get("/readyz", headers=headers)
        assert anonymous.status == 200
        assert await anonymous.json() == {"status": "ready"}
    detailed = await client.get("/readyz", headers=AUTH)
    assert (await detailed.json())["checks"]["store"] == "ok"

    document = await client.get("/api/v1/openapi.json")
    assert document.status == 401
    assert (await document.json())["error"] == "unauthenticated"
    document = await client.get("/api/v1/openapi.json", headers=AUTH)
    assert document.status == 200
