#!/usr/bin/env python3
"""Benchmark: the receiver against a bare aiohttp handler, in one run.

    python scripts/bench.py [--quick] [--requests N] [--concurrency 32]
                            [--backends sqlite,postgresql] [--storm-groups 100]

With `wrk` installed (Debian package), first the accept path (issue 18): wrk posts
one-alert bodies for 10 s (3 s with --quick) to the bare handler, then to the receiver,
firing only and mixed (half resolves); for each, req/s and its ratio to bare, p50/p99,
server CPU per request, the backlog left when the load stopped, the server CPU per
webhook until that backlog is applied, and the applier's own CPU per webhook (measured
while it drains that backlog alone). Then, per backend: webhook throughput and p50/p99
latency (absolute and as ratios to a bare aiohttp handler), the time to 2xx of one
1,000-alert webhook, and a storm of groups × 100 alerts firing then resolving (time until
every incident is drafted, and the receiver's peak RSS); once: the render time of a draft
for 5,000 alerts and 500 rows.

Starts each server as a real process with a fresh database (SQLite in a temp dir;
PostgreSQL as a new database on RECEIVER_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test, dropped afterwards), pinned to CPU 0 while
this process (the load generator) runs on CPU 1 when two cores exist. Sends real
one-alert Alertmanager bodies over loopback — every group fires and then resolves, so
half the requests write a draft — and prints throughput and latency, absolute and as a
ratio to the bare handler (the ceiling of aiohttp on this machine). Bounded: a fixed
number of requests, each with a 30 s timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wrk_load

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
POSTGRES_URL = os.environ.get(
    "RECEIVER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# wrk's groups are numbered from here (each run its own range): far from the other runs'
WRK_FIRST = 10_000_000
BARE_SERVER = """
import sys
from aiohttp import web

async def handle(request):
    await request.read()
    return web.json_response({"status": "ok"})

app = web.Application(client_max_size=8 * 1024 * 1024)
app.router.add_post("/api/v1/alerts", handle)
app.router.add_get("/healthz", lambda request: web.json_response({"status": "ok"}))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    cpu_seconds: float | None = None  # the server's CPU time (user + system) meanwhile

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float | None:
        return None if self.cpu_seconds is None else 1000 * self.cpu_seconds / self.requests

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin(cpu: int) -> list[str]:
    """taskset prefix for a server when the machine has a second core for the client."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(cpu)]
    return []


def bodies(groups: int, first: int = 0) -> list[tuple[bytes, bytes]]:
    """(firing, resolved) one-alert bodies per group: the real capture, identifiers changed;
    groups numbered from `first`."""
    firing = json.loads((FIXTURES / "firing_single.json").read_text(encoding="utf-8"))
    resolved = json.loads((FIXTURES / "resolved_single.json").read_text(encoding="utf-8"))
    pairs = []
    for i in range(first, first + groups):
        pair = []
        for template in (firing, resolved):
            body = json.loads(json.dumps(template))
            service = f"bench-{i}"
            body["groupKey"] = f'{{}}:{{alertname="HighErrorRate", service="{service}"}}'
            body["groupLabels"]["service"] = service
            body["commonLabels"]["service"] = service
            for alert in body["alerts"]:
                alert["labels"]["service"] = service
                alert["fingerprint"] = f"{i:016x}"
            pair.append(json.dumps(body).encode())
        pairs.append((pair[0], pair[1]))
    return pairs


@dataclass(frozen=True)
class Running:
    base: str
    pid: int

    def peak_rss_mib(self) -> float:
        """The process's high-water resident set (VmHWM), in MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        """CPU time the process has used so far (user + system)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(argv: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[Running]:
    with log.open("wb") as handle:
        # from ROOT: `python -m receiver` imports the package in the working directory first
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{argv} exited: {log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        yield Running(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def drive(
    name: str, server: Running, groups: Sequence[tuple[bytes, ...]], concurrency: int
) -> Result:
    """`concurrency` connections; each takes a group and sends its bodies in order (its
    firing, then its resolve)."""
    base = server.base
    queue: asyncio.Queue[tuple[bytes, ...]] = asyncio.Queue()
    for group in groups:
        queue.put_nowait(group)
    latencies: list[float] = []
    errors = 0
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # warm up: connections, imports, the first SQLite pages
        for body in bodies(1)[0]:
            async with session.post(f"{base}/api/v1/alerts", data=body, headers=headers) as r:
                await r.read()

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                for body in queue.get_nowait():
                    started = time.perf_counter()
                    async with session.post(
                        f"{base}/api/v1/alerts", data=body, headers=headers
                    ) as response:
                        await response.read()
                        if response.status >= 300:
                            errors += 1
                    latencies.append(time.perf_counter() - started)

        started, cpu_before = time.perf_counter(), server.cpu_seconds()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds, cpu = time.perf_counter() - started, server.cpu_seconds() - cpu_before
    return Result(name, len(latencies), seconds, latencies, errors, cpu)


@dataclass(frozen=True)
class AcceptRun:
    """One wrk run against the accept path, and what applying its backlog cost after."""

    name: str
    load: wrk_load.WrkResult
    cpu_load: float  # server CPU seconds during the load (accepting, and applying behind)
    backlog: int  # entries not yet applied when the load stopped
    cpu_drain: float  # server CPU seconds from then until the backlog was empty
    drain_seconds: float

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_load / max(1, self.load.requests)

    @property
    def until_applied_ms(self) -> float:
        """Server CPU per webhook from the first request until the last is applied."""
        return 1000 * (self.cpu_load + self.cpu_drain) / max(1, self.load.requests)

    @property
    def applier_ms(self) -> float | None:
        """The applier's CPU per webhook, from the drain alone (nothing accepted then)."""
        return 1000 * self.cpu_drain / self.backlog if self.backlog >= 50 else None


async def backlog_of(base: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith("postmortem_receiver_inbox_backlog "):
                return int(float(line.split()[1]))
    raise RuntimeError("no postmortem_receiver_inbox_backlog in /metrics")


async def drain(base: str, what: str) -> None:
    """Wait until the receiver has applied everything it accepted (at most 600 s)."""
    deadline = time.monotonic() + 600
    while await backlog_of(base) > 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: the backlog did not drain in 600 s")
        await asyncio.sleep(0.05)


async def accept_run(
    name: str,
    target: Running,
    templates: Sequence[bytes],
    first_group: int,
    args: argparse.Namespace,
    threads: int,
) -> AcceptRun:
    cpu_before = target.cpu_seconds()
    load = await asyncio.to_thread(
        wrk_load.run_wrk,
        target.base,
        templates,
        seconds=args.wrk_seconds,
        connections=args.concurrency,
        threads=threads,
        first_group=first_group,
    )
    cpu_loaded = target.cpu_seconds()
    if name.startswith("bare"):
        return AcceptRun(name, load, cpu_loaded - cpu_before, 0, 0.0, 0.0)
    backlog, started = await backlog_of(target.base), time.perf_counter()
    await drain(target.base, name)
    drained = time.perf_counter() - started
    return AcceptRun(
        name, load, cpu_loaded - cpu_before, backlog, target.cpu_seconds() - cpu_loaded, drained
    )


def one_alert_templates(mixed: bool) -> list[bytes]:
    """A group's firing body (`mixed`: and its resolve) with wrk's markers for the group's
    number and fingerprint: wrk makes every group a new one (wrk_load.run_wrk)."""
    marker = 987_654_321  # a group number that is in no body otherwise
    pair = bodies(1, first=marker)[0]
    return [
        body.replace(f"bench-{marker}".encode(), b"bench-@GROUP@").replace(
            f"{marker:016x}".encode(), b"@FINGERPRINT@"
        )
        for body in (pair if mixed else pair[:1])
    ]


def report_accept(runs: list[AcceptRun], concurrency: int) -> None:
    bare = runs[0]
    print(
        f"\naccept path (wrk, {concurrency} connections, one-alert bodies, server on CPU 0, "
        "wrk on CPU 1); the applier runs behind on the same core.\nCPU ms: server CPU per "
        "request during the load; until applied: per webhook from the first request until "
        "the backlog is empty;\napplier: CPU per webhook while only the backlog left at the "
        "end of the load was applied (nan: too small a backlog to say)"
    )
    print(
        f"{'server':<30}{'req':>8}{'req/s':>9}{'× bare':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'CPU ms':>8}{'backlog':>9}{'until applied':>15}{'applier':>9}{'errors':>8}"
    )
    for run in runs:
        applier = run.applier_ms
        print(
            f"{run.name:<30}{run.load.requests:>8}{run.load.throughput:>9.0f}"
            f"{run.load.throughput / bare.load.throughput:>8.2f}{run.load.p50_ms:>8.1f}"
            f"{run.load.p99_ms:>8.1f}{run.cpu_ms:>8.3f}{run.backlog:>9}"
            f"{run.until_applied_ms if run.backlog or run is not bare else 0:>15.3f}"
            f"{applier if applier is not None else float('nan'):>9.3f}{run.load.errors:>8}"
        )


async def postgres_database() -> str:
    name = f"pmr_bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await conn.close()


def receiver_env(database_url: str, port: int, scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECEIVER_")}
    env.update(
        # the receiver beside this script, so an older checkout can be measured too
        PYTHONPATH=str(ROOT),
        RECEIVER_LISTEN=f"127.0.0.1:{port}",
        RECEIVER_DATABASE_URL=database_url,
        RECEIVER_DRAFTS_DIR=str(scratch / "drafts"),
        # no Alertmanager here: the reconciler asks a closed loopback port, never the
        # host named in the captures' externalURL
        RECEIVER_ALERTMANAGER_URL="http://127.0.0.1:1",
        RECEIVER_LOG_LEVEL="warning",
        RECEIVER_LOG_FORMAT="json",
    )
    return env


async def run(
    args: argparse.Namespace,
) -> tuple[list[Result], dict[str, dict[str, float]], list[AcceptRun]]:
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})
    results = []
    extras: dict[str, dict[str, float]] = {}
    accepts: list[AcceptRun] = []
    use_wrk = wrk_load.available()
    groups = args.requests // 2
    with tempfile.TemporaryDirectory(prefix="pmr-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        port = free_port()
        argv = [*pin(0), sys.executable, "-c", BARE_SERVER, str(port)]
        with server(argv, dict(os.environ), port, scratch / "bare.log") as bare:
            if use_wrk:
                only = one_alert_templates(mixed=False)
                accepts.append(await accept_run("bare aiohttp", bare, only, WRK_FIRST, args, 2))
            results.append(await drive("bare aiohttp", bare, bodies(groups), args.concurrency))
        for backend in args.backends.split(","):
            if backend == "sqlite":
                url = f"sqlite:///{scratch / 'bench.db'}"
            elif backend == "postgresql":
                url = await postgres_database()
            else:
                raise SystemExit(f"unknown backend {backend!r}")
            port = free_port()
            argv = [*pin(0), sys.executable, "-m", "receiver", "serve"]
            try:
                with server(
                    argv, receiver_env(url, port, scratch), port, scratch / f"{backend}.log"
                ) as receiver:
                    if use_wrk:
                        # every webhook of a new group, each run's groups its own: the
                        # firing-only run opens an incident per webhook, the mixed one (in
                        # order: one wrk thread) opens one and resolves it, writing its
                        # draft, per two
                        only = one_alert_templates(mixed=False)
                        mixed = one_alert_templates(mixed=True)
                        name = f"{backend} firing only"
                        accepts.append(await accept_run(name, receiver, only, WRK_FIRST, args, 2))
                        name = f"{backend} mixed (half resolve)"
                        accepts.append(
                            await accept_run(name, receiver, mixed, 2 * WRK_FIRST, args, 1)
                        )
                    results.append(
                        await drive(
                            f"receiver {backend}", receiver, bodies(groups), args.concurrency
                        )
                    )
                    # the same count of webhooks that draft nothing: what ingest costs alone
                    firing = [(f,) for f, _ in bodies(args.requests, first=groups)]
                    results.append(await drive("  firing only", receiver, firing, args.concurrency))
                    extras[backend] = await large_and_storm(receiver, args)
            finally:
                if backend == "postgresql":
                    await drop_postgres_database(url)
    return results, extras, accepts


def big_group(group: int, alerts: int, status: str) -> bytes:
    """One group of `alerts` alerts from the real group capture, identifiers changed."""
    name = "firing_group_3" if status == "firing" else "resolved_group_3"
    body = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    template = body["alerts"][0]
    service = f"storm-{group}"
    body["groupKey"] = f'{{}}:{{alertname="HighLatencyP99", service="{service}"}}'
    body["groupLabels"]["service"] = body["commonLabels"]["service"] = service
    body["alerts"] = [
        {
            **template,
            # the high bit keeps them apart from bodies()' fingerprints (the group's number)
            "fingerprint": f"{0x8000_0000 | group:08x}{i:08x}",
            "labels": {
                **template["labels"],
                "service": service,
                "instance": f"10.{group % 250}.{i // 250}.{i % 250}:9100",
            },
        }
        for i in range(alerts)
    ]
    return json.dumps(body).encode()


async def post_timed(session: aiohttp.ClientSession, base: str, body: bytes) -> float:
    """Post one webhook; the seconds until its answer (an error unless 2xx)."""
    sent = time.perf_counter()
    async with session.post(
        f"{base}/api/v1/alerts", data=body, headers={"Content-Type": "application/json"}
    ) as response:
        await response.read()
    if response.status >= 300:
        raise RuntimeError(f"a webhook answered {response.status}")
    return time.perf_counter() - sent


async def large_and_storm(receiver: Running, args: argparse.Namespace) -> dict[str, float]:
    """One 1,000-alert webhook; then a storm of groups firing and resolving."""
    headers = {"Content-Type": "application/json"}
    figures: dict[str, float] = {}
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        # what the throughput runs left to apply first: this webhook's time is its own
        await drain(receiver.base, "the throughput runs")
        big = big_group(1_000_000, 1000, "firing")
        started = time.perf_counter()
        async with session.post(f"{receiver.base}/api/v1/alerts", data=big, headers=headers) as r:
            answer = await r.json()
            assert r.status < 300, r.status
        figures["1000-alert webhook, s to 2xx"] = time.perf_counter() - started
        # and until its effects are in: the incident opened with its thousand alerts
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            async with session.get(f"{receiver.base}/api/v1/inbox/{answer['inbox_id']}") as r:
                if (await r.json())["state"] != "pending":
                    break
            await asyncio.sleep(0.01)
        else:
            entry = await (
                await session.get(f"{receiver.base}/api/v1/inbox/{answer['inbox_id']}")
            ).json()
            raise RuntimeError(f"the 1,000-alert webhook was not applied in 120 s: {entry}")
        figures["1000-alert webhook, s until applied"] = time.perf_counter() - started

        groups = args.storm_groups
        semaphore = asyncio.Semaphore(args.concurrency)

        latencies: list[float] = []

        async def send(body: bytes) -> None:
            async with semaphore:
                latencies.append(await post_timed(session, receiver.base, body))

        async def drafted_total() -> int:
            async with session.get(
                f"{receiver.base}/api/v1/incidents?status=drafted&limit=1"
            ) as response:
                return int((await response.json())["total"])

        drafted_before = await drafted_total()  # the throughput runs' incidents
        started = time.perf_counter()
        await asyncio.gather(*(send(big_group(g, 100, "firing")) for g in range(groups)))
        await asyncio.gather(*(send(big_group(g, 100, "resolved")) for g in range(groups)))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            async with session.get(
                f"{receiver.base}/api/v1/incidents?status=drafted&service=storm-0&limit=1"
            ) as response:
                drafted_first = (await response.json())["total"]
            if drafted_first and await drafted_total() >= drafted_before + groups:
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"the storm's {groups} incidents were not all drafted in 300 s")
        figures[f"storm {groups}x100 alerts, s until all drafted"] = time.perf_counter() - started
        latencies.sort()
        figures["storm accept p99, ms"] = 1000 * latencies[int(0.99 * (len(latencies) - 1))]
        figures["storm peak RSS, MiB"] = receiver.peak_rss_mib()
    return figures


def render_benchmark() -> float:
    """Median seconds to render the draft of an incident with 5,000 alerts and 500 rows."""
    sys.path.insert(0, str(ROOT))  # the receiver beside this script, as for the servers
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from receiver.config import DEFAULT_SEVERITY_MAP
    from receiver.domain.incident import EntryKind, Phase, Rules, Source, TimelineEntry
    from receiver.postmortem.render import DraftRenderer
    from receiver.postmortem.sample import sample_draft_input
    from receiver.postmortem.view import DraftInput, RenderOptions

    sample = sample_draft_input()
    template = sample.episodes[0]
    start = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    episodes = [
        type(template)(
            fingerprint=f"{i:016x}",
            starts_at=start + timedelta(seconds=i % 600),
            ends_at=start + timedelta(minutes=30),
            resolved=True,
            labels={
                **template.labels,
                "instance": f"10.9.{i // 250}.{i % 250}:9100",
                "alertname": f"Alert{i % 7}",
            },
            annotations=template.annotations,
            generator_url=template.generator_url,
            cycle=1,
            first_seen_at=start,
        )
        for i in range(5000)
    ]
    timeline = [
        TimelineEntry(
            start + timedelta(seconds=i),
            Phase.DETECT if i % 2 else Phase.RECOVER,
            EntryKind.ALERT_FIRED if i % 2 else EntryKind.ALERT_RESOLVED,
            Source.ALERTMANAGER,
            f"row:{i}",
            subject=f"10.9.0.{i % 250}:9100",
        )
        for i in range(500)
    ]
    data = DraftInput(
        incident=sample.incident,
        episodes=episodes,
        timeline=timeline,
        history=sample.history,
        revision=1,
        created_at=sample.created_at,
        now=sample.now,
        human=sample.human,
    )
    renderer = DraftRenderer()
    options = RenderOptions(
        language="zh",
        zone=ZoneInfo("Asia/Shanghai"),
        rules=Rules(severity_map=DEFAULT_SEVERITY_MAP),
    )
    times = []
    for _ in range(5):
        started = time.perf_counter()
        renderer.render(data, options)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def report(results: list[Result], concurrency: int) -> None:
    bare = results[0]
    print(
        f"\nwebhook ingest, {concurrency} concurrent connections, one-alert bodies: each group "
        "fires then resolves, and resolves write a draft;\n'firing only': as many groups that "
        "only fire, so nothing is drafted; CPU ms: the server's CPU time per request"
    )
    print(
        f"{'server':<22}{'req':>7}{'req/s':>10}{'× bare':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'p99 × bare':>12}{'CPU ms':>9}{'× bare':>9}{'errors':>8}"
    )
    bare_cpu = bare.cpu_ms_per_request
    for result in results:
        p50 = result.percentile(0.50) * 1000
        p99 = result.percentile(0.99) * 1000
        cpu = result.cpu_ms_per_request
        cpu_ratio = cpu / bare_cpu if cpu is not None and bare_cpu else float("nan")
        print(
            f"{result.name:<22}{result.requests:>7}{result.throughput:>10.0f}"
            f"{result.throughput / bare.throughput:>9.2f}{p50:>9.1f}{p99:>9.1f}"
            f"{p99 / (bare.percentile(0.99) * 1000):>12.1f}"
            f"{cpu if cpu is not None else float('nan'):>9.2f}{cpu_ratio:>9.1f}"
            f"{result.errors:>8}"
        )
    by_name = {r.name: r for r in results}
    if "receiver sqlite" in by_name and "receiver postgresql" in by_name:
        ratio = by_name["receiver postgresql"].throughput / by_name["receiver sqlite"].throughput
        print(f"\nPostgreSQL / SQLite throughput: {ratio:.2f}")
    print(f"mean latency, bare: {statistics.mean(bare.latencies) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 requests instead of 4000")
    parser.add_argument(
        "--smoke", action="store_true", help="seconds: proves the benchmark runs, measures nothing"
    )
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--storm-groups", type=int, default=None)
    args = parser.parse_args()
    args.requests = args.requests or (40 if args.smoke else 400 if args.quick else 4000)
    args.storm_groups = args.storm_groups or (2 if args.smoke else 10 if args.quick else 100)
    args.wrk_seconds = 1 if args.smoke else 3 if args.quick else 10
    results, extras, accepts = asyncio.run(run(args))
    if accepts:
        report_accept(accepts, args.concurrency)
    else:
        print("\nwrk is not installed (apt install wrk): the accept path's figures are skipped")
    report(results, args.concurrency)
    for backend, figures in extras.items():
        for name, value in figures.items():
            print(f"{backend:<12}{name:<44}{value:>10.3f}")
    print(
        f"{'(any)':<12}{'draft render, 5000 alerts + 500 rows, s':<44}{render_benchmark():>10.3f}"
    )
    if any(result.errors for result in results) or any(r.load.errors for r in accepts):
        raise SystemExit("some requests failed; see the numbers above")


if __name__ == "__main__":
    main()
