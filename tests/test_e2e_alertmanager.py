"""End to end: the real Alertmanager binary notifies the real receiver over loopback.

Nothing is mocked. Alerts are posted to Alertmanager's v2 API; Alertmanager groups them
and sends its own webhooks (with a bearer token) to the receiver, which opens an
incident and, once every alert resolved, writes the draft postmortem.

Alertmanager's own API runs without authentication here: basic auth through
--web.config.file needs a bcrypt hash, and bcrypt is not installed in the test venv.
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
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

pytestmark = pytest.mark.e2e

TOKEN = "e2e-secret-token"
LOOPBACK = "127.0.0.1"
INSTANCES = ("10.0.2.11:9100", "10.0.2.12:9100", "10.0.2.13:9100")
# the longest shared prefix of the three summaries "payments P99 延迟过高 (10.0.2.1x)"
SUMMARY = "payments P99 延迟过高"
INSTANCE_COUNT = "（3 个实例）"
DRAFT_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-\d+-payments-highlatencyp99\.md$")
GENERATOR_URL = (
    "http://127.0.0.1:9090/graph?g0.expr=histogram_quantile%280.99%2C%20rate%28"
    "http_request_duration_seconds_bucket%7Bjob%3D%22payments-api%22%7D%5B5m%5D%29%29"
    "%20%3E%201&g0.tab=1"
)
LOG_TAIL_LINES = 40

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


@pytest.fixture
def receiver(request: pytest.FixtureRequest, tmp_path: Path) -> Service:
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("RECEIVER_")}
    env.update(
        RECEIVER_LISTEN=f"{LOOPBACK}:{port}",
        RECEIVER_DATABASE_URL=f"sqlite:///{tmp_path / 'receiver.db'}",
        RECEIVER_DRAFTS_DIR=str(tmp_path / "drafts"),
        RECEIVER_AUTH_TOKEN=TOKEN,
        RECEIVER_LOG_FORMAT="json",
    )
    service = Service("receiver", f"http://{LOOPBACK}:{port}", tmp_path / "receiver.log")
    process = start_process(
        request,
        service.name,
        [sys.executable, "-m", "receiver", "serve"],
        env,
        service.log_path,
    )
    wait_ready(process, service, "/readyz", timeout=20)
    return service


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


@pytest.fixture
def alertmanager_binary() -> str:
    found = shutil.which("prometheus-alertmanager")
    if found is None:
        pytest.skip(
            "this end-to-end test runs the real Alertmanager, and "
            "prometheus-alertmanager is not on PATH (Debian: apt install "
            "prometheus-alertmanager)"
        )
    return found


@pytest.fixture
def alertmanager(
    request: pytest.FixtureRequest, tmp_path: Path, alertmanager_binary: str, receiver: Service
) -> Service:
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_config(receiver.base_url), encoding="utf-8")
    storage = tmp_path / "am"
    storage.mkdir()
    argv = [
        alertmanager_binary,
        f"--config.file={config}",
        f"--storage.path={storage}",
        f"--web.listen-address={LOOPBACK}:{port}",
        # links in webhooks (externalURL) otherwise name this machine's host name
        f"--web.external-url=http://{LOOPBACK}:{port}",
        "--cluster.listen-address=",  # empty: no gossip, no HA
        "--log.level=debug",
    ]
    service = Service("alertmanager", f"http://{LOOPBACK}:{port}", tmp_path / "alertmanager.log")
    process = start_process(request, service.name, argv, dict(os.environ), service.log_path)
    wait_ready(process, service, "/-/ready", timeout=15)
    return service


# -- HTTP helpers ------------------------------------------------------------------------


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


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


# -- the alerts --------------------------------------------------------------------------


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def payments_alerts(starts_at: datetime, ends_at: datetime) -> list[dict[str, Any]]:
    """The three HighLatencyP99 alerts of the 'group3' capture, in its order."""
    alerts = []
    for instance in ("10.0.2.13:9100", "10.0.2.11:9100", "10.0.2.12:9100"):
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


def kinds(detail: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [row for row in detail["timeline"] if row["kind"] == kind]


# -- the test ----------------------------------------------------------------------------


async def test_alertmanager_fires_and_resolves_into_a_draft(
    alertmanager_binary: str,  # first, so a missing binary skips before anything starts
    http: aiohttp.ClientSession,
    receiver: Service,
    alertmanager: Service,
    tmp_path: Path,
) -> None:
    api = f"{receiver.base_url}/api/v1"

    # auth really is on: the endpoint Alertmanager posts to refuses a missing or wrong token
    for headers in ({}, {"Authorization": "Bearer wrong-token"}):
        async with http.post(f"{api}/alerts", json={"version": "4"}, headers=headers) as response:
            assert response.status == 401, headers

    started = datetime.now(UTC).replace(microsecond=0)
    await post_alerts(http, alertmanager, payments_alerts(started, started + timedelta(hours=1)))

    async def one_incident_three_firing() -> dict[str, Any] | None:
        listing = await get_json(http, f"{api}/incidents")
        if listing["total"] != 1:
            return None
        first_id = listing["incidents"][0]["id"]
        detail: dict[str, Any] = await get_json(http, f"{api}/incidents/{first_id}")
        firing = [alert for alert in detail["alerts"] if alert["status"] == "firing"]
        return detail if len(firing) == 3 else None

    detail = await poll("one incident with 3 firing alerts", one_incident_three_firing, 20)
    incident_id = detail["id"]
    assert detail["title"] == SUMMARY  # the draft's template adds the instance count
    assert detail["priority"] == "P2"
    assert detail["status"] == "firing"
    assert detail["service"] == "payments"
    assert sorted(alert["labels"]["instance"] for alert in detail["alerts"]) == list(INSTANCES)
    fired = kinds(detail, "alert_fired")
    assert len(fired) == 3
    assert {row["phase"] for row in fired} == {"detect"}
    assert sorted(row["subject"] for row in fired) == list(INSTANCES)
    assert len(kinds(detail, "incident_opened")) == 1
    assert detail["drafts"] == []

    # an endsAt of now resolves the alerts in Alertmanager; startsAt stays the same
    await post_alerts(http, alertmanager, payments_alerts(started, datetime.now(UTC)))

    async def drafted() -> dict[str, Any] | None:
        found: dict[str, Any] = await get_json(http, f"{api}/incidents/{incident_id}")
        return found if found["status"] == "drafted" else None

    detail = await poll("the incident to be drafted", drafted, 20)
    assert [alert["status"] for alert in detail["alerts"]] == ["resolved"] * 3
    assert all(alert["ends_at"] for alert in detail["alerts"])
    resolved_rows = kinds(detail, "alert_resolved")
    assert len(resolved_rows) == 3
    assert {row["phase"] for row in resolved_rows} == {"recover"}
    all_resolved = kinds(detail, "all_resolved")
    assert len(all_resolved) == 1
    assert all_resolved[0]["phase"] == "recover"
    listing = await get_json(http, f"{api}/incidents")
    assert listing["total"] == 1, "the resolve must not open a second incident"

    assert len(detail["drafts"]) == 1
    file_name = detail["drafts"][0]["file_name"]
    assert DRAFT_NAME.match(file_name), file_name
    draft_path = tmp_path / "drafts" / file_name

    # the file is written right after the transaction that marks the incident drafted
    async def draft_file() -> str | None:
        return draft_path.read_text(encoding="utf-8") if draft_path.exists() else None

    content = await poll(f"draft file {draft_path}", draft_file, 5)
    assert f"\n# 事故后分析：{SUMMARY}{INSTANCE_COUNT}\n" in content
    assert "监控告警触发" in content
    assert "监控确认" in content
    for instance in INSTANCES:
        assert instance in content
    assert f"({alertmanager.base_url}/#/alerts?receiver=incident-webhook&" in content
    assert content == await get_text(http, f"{api}/incidents/{incident_id}/postmortem.md")
