"""Real processes for end-to-end tests: the receiver, Alertmanager, and polling them.

Every process logs to a file and is stopped by a finalizer that prints its log tail, so a
failing test shows what each process said. Only loopback addresses are used.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

TOKEN = "e2e-secret-token"
LOOPBACK = "127.0.0.1"
GENERATOR_URL = (
    "http://127.0.0.1:9090/graph?g0.expr=histogram_quantile%280.99%2C%20rate%28"
    "http_request_duration_seconds_bucket%7Bjob%3D%22payments-api%22%7D%5B5m%5D%29%29"
    "%20%3E%201&g0.tab=1"
)
LOG_TAIL_LINES = 40
# what payments_alerts() sends, and the draft file the receiver names for it
PAYMENTS_INSTANCES = ("10.0.2.11:9100", "10.0.2.12:9100", "10.0.2.13:9100")
PAYMENTS_DRAFT_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-\d+-payments-highlatencyp99\.md$")

T = TypeVar("T")


# -- processes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    name: str
    base_url: str
    log_path: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def start_process(
    request: pytest.FixtureRequest, name: str, argv: list[str], env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    """Start argv with stdout and stderr in `log`; stop it (and show its log) at teardown.

    pytest shows what the finalizer prints ("Captured stdout teardown") only when the
    test itself fails.
    """
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT, env=env
        )

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        print(f"\n--- {name} (exit {process.returncode}), last lines of {log} ---")
        print(log_tail(log))

    request.addfinalizer(stop)
    return process


# what a server logs when its port was taken: Go's net package, the receiver in Chinese
# and in English
_PORT_TAKEN = ("address already in use", "端口已被占用", "the port is in use")
# a free port can be taken by another test's server between free_port() and the bind
_PORT_ATTEMPTS = 3


class PortTaken(Exception):
    """The process exited because another took its free port first: start it again on
    another one."""


def wait_ready(
    process: subprocess.Popen[bytes], service: Service, path: str, timeout: float
) -> None:
    """Poll GET base_url+path until 200, the process exits, or the timeout passes.

    A setup error's report omits what finalizers print, so the log goes in the message.
    """
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if any(words in log_tail(service.log_path) for words in _PORT_TAKEN):
                raise PortTaken(service.name)
            pytest.fail(
                f"{service.name} exited with {process.returncode} before it was ready; "
                f"last lines of its log:\n{log_tail(service.log_path)}"
            )
        try:
            with urllib.request.urlopen(service.base_url + path, timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            with exc:
                last = f"HTTP {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    pytest.fail(
        f"{service.name} not ready after {timeout}s ({last}); "
        f"last lines of its log:\n{log_tail(service.log_path)}"
    )


def start_receiver(
    request: pytest.FixtureRequest,
    workdir: Path,
    *,
    database_url: str,
    name: str = "receiver",
    drafts_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    ready_timeout: float = 20,
) -> tuple[Service, subprocess.Popen[bytes]]:
    """`python -m receiver serve` on a free loopback port, ready when this returns."""
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECEIVER_")}
        env.update(
            RECEIVER_LISTEN=f"{LOOPBACK}:{port}",
            RECEIVER_DATABASE_URL=database_url,
            RECEIVER_DRAFTS_DIR=str(drafts_dir or workdir / "drafts"),
            RECEIVER_AUTH_TOKEN=TOKEN,
            RECEIVER_LOG_FORMAT="json",
        )
        env.update(extra_env or {})
        service = Service(name, f"http://{LOOPBACK}:{port}", workdir / f"{name}.log")
        process = start_process(
            request, name, [sys.executable, "-m", "receiver", "serve"], env, service.log_path
        )
        try:
            wait_ready(process, service, "/readyz", timeout=ready_timeout)
        except PortTaken:
            if attempt == _PORT_ATTEMPTS:
                raise
            continue
        return service, process
    raise AssertionError("unreachable")


def debian_command(command: str, package: str) -> str:
    """The path of a command that a Debian package installs, or skip the test saying how
    to install it (.ci/run installs them all)."""
    found = shutil.which(command)
    if found is None:
        pytest.skip(f"this test runs {command}, which is not on PATH (apt install {package})")
    return found


def alertmanager_binary() -> str:
    return debian_command("prometheus-alertmanager", "prometheus-alertmanager")


def start_alertmanager(
    request: pytest.FixtureRequest,
    workdir: Path,
    receiver_url: str,
    *,
    name: str = "alertmanager",
    cluster_listen: str = "",
    peers: Sequence[str] = (),
    extra_args: Sequence[str] = (),
) -> Service:
    """Alertmanager on a free loopback port, sending to receiver_url; ready on return.

    An empty cluster_listen turns gossip off; give a loopback address and peers to
    cluster several of them.
    """
    binary = alertmanager_binary()
    home = workdir / name
    home.mkdir()
    config = home / "alertmanager.yml"
    config.write_text(alertmanager_config(receiver_url), encoding="utf-8")
    (home / "data").mkdir()
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = free_port()
        argv = [
            binary,
            f"--config.file={config}",
            f"--storage.path={home / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            # links in webhooks (externalURL) otherwise name this machine's host name
            f"--web.external-url=http://{LOOPBACK}:{port}",
            f"--cluster.listen-address={cluster_listen}",
            *(f"--cluster.peer={peer}" for peer in peers),
            "--log.level=debug",
            *extra_args,
        ]
        service = Service(name, f"http://{LOOPBACK}:{port}", workdir / f"{name}.log")
        process = start_process(request, name, argv, dict(os.environ), service.log_path)
        try:
            wait_ready(process, service, "/-/ready", timeout=15)
        except PortTaken:
            if attempt == _PORT_ATTEMPTS:
                raise
            continue
        return service
    raise AssertionError("unreachable")


def alertmanager_config(receiver_url: str) -> str:
    # JSON is YAML: no YAML library needed to write the file
    config = {
        "route": {
            "receiver": "incident-webhook",
            "group_by": ["alertname", "service"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "incident-webhook",
                "webhook_configs": [
                    {
                        "url": f"{receiver_url}/api/v1/alerts",
                        "send_resolved": True,
                        "http_config": {
                            "authorization": {"type": "Bearer", "credentials": TOKEN},
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(config, indent=2)


# -- HTTP --------------------------------------------------------------------------------


AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def get_json(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url, headers=AUTH) as response:
        assert response.status == 200, f"GET {url}: {response.status} {await response.text()}"
        return await response.json()


async def get_text(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url, headers=AUTH) as response:
        assert response.status == 200, f"GET {url}: {response.status} {await response.text()}"
        return await response.text()


async def post_alerts(
    http: aiohttp.ClientSession, alertmanager: Service, alerts: list[dict[str, Any]]
) -> None:
    url = f"{alertmanager.base_url}/api/v2/alerts"
    async with http.post(url, json=alerts) as response:
        assert response.status == 200, f"POST {url}: {response.status} {await response.text()}"


async def poll(what: str, probe: Callable[[], Awaitable[T | None]], seconds: float) -> T:
    """Call probe until it returns something other than None; fail after `seconds`.

    The processes' logs are printed by their finalizers.
    """
    try:
        async with asyncio.timeout(seconds):
            while True:
                found = await probe()
                if found is not None:
                    return found
                await asyncio.sleep(0.2)
    except TimeoutError:
        pass
    pytest.fail(f"timed out after {seconds}s waiting for {what}")


# -- alerts ------------------------------------------------------------------------------


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def payments_alerts(starts_at: datetime, ends_at: datetime) -> list[dict[str, Any]]:
    """The three HighLatencyP99 alerts of the 'group3' capture, in its order."""
    alerts = []
    for instance in ("10.0.2.13:9100", "10.0.2.11:9100", "10.0.2.12:9100"):  # capture order
        host = instance.split(":")[0]
        alerts.append(
            {
                "labels": {
                    "alertname": "HighLatencyP99",
                    "severity": "warning",
                    "service": "payments",
                    "namespace": "prod",
                    "instance": instance,
                    "job": "payments-api",
                },
                "annotations": {
                    "summary": f"payments P99 延迟过高 ({host})",
                    "description": (
                        f"{instance} 的 P99 延迟 2.3s，超过 1s 阈值；可能影响支付成功率。"
                    ),
                    "runbook_url": "https://runbooks.example.com/payments/high-latency",
                },
                "generatorURL": GENERATOR_URL,
                "startsAt": rfc3339(starts_at),
                "endsAt": rfc3339(ends_at),
            }
        )
    return alerts


# -- reading what the processes did ------------------------------------------------------


def kinds(detail: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The timeline rows of one kind in GET /api/v1/incidents/{id}."""
    return [row for row in detail["timeline"] if row["kind"] == kind]


def log_events(service: Service) -> list[dict[str, Any]]:
    """The JSON lines of a process's log (anything else it printed is skipped)."""
    events = []
    for line in service.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def webhook_posts(receiver: Service) -> list[dict[str, Any]]:
    """The receiver's access-log lines of POST /api/v1/alerts: every webhook it answered."""
    return [
        event
        for event in log_events(receiver)
        if event.get("event") == "request"
        and event.get("method") == "POST"
        and event.get("path") == "/api/v1/alerts"
    ]
