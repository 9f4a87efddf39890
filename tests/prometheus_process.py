"""A real Prometheus for tests, scraping an exporter that the test runs in-process.

`start_exporter` serves a registry of the test's own on a free loopback port; the test
sets its gauges. `start_prometheus` runs Debian's Prometheus on another, scraping every
second, and returns once every target is up. Both stop at teardown, and Prometheus'
log tail is printed when the test fails (tests/processes.py's start_process). Optional
rule files and an Alertmanager URL are for end-to-end tests of alerts.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from prometheus_client import CollectorRegistry, start_http_server

from tests.processes import (
    LOOPBACK,
    Service,
    debian_command,
    free_port,
    log_tail,
    start_process,
    wait_ready,
)

SCRAPE_INTERVAL_SECONDS = 1
EXPORTER_JOB = "exporter"


@dataclass(frozen=True)
class Exporter:
    """Gauges and counters registered on `registry` are what Prometheus scrapes."""

    registry: CollectorRegistry
    address: str  # host:port, a scrape target


@dataclass(frozen=True)
class Prometheus:
    service: Service
    process: subprocess.Popen[bytes]
    config_path: Path

    @property
    def base_url(self) -> str:
        return self.service.base_url


def start_exporter(request: pytest.FixtureRequest) -> Exporter:
    """prometheus_client's HTTP server on a free loopback port, stopped at teardown."""
    registry = CollectorRegistry(auto_describe=True)
    port = free_port()
    server, thread = start_http_server(port, addr=LOOPBACK, registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    request.addfinalizer(stop)
    return Exporter(registry, f"{LOOPBACK}:{port}")


def start_prometheus(
    request: pytest.FixtureRequest,
    workdir: Path,
    targets: Sequence[str],
    *,
    name: str = "prometheus",
    rule_files: Sequence[Path] = (),
    alertmanager_url: str | None = None,
    ready_timeout: float = 20,
    targets_timeout: float = 10,
) -> Prometheus:
    """Prometheus on a free loopback port scraping `targets` every second (job
    "exporter"); ready, with every target up, when this returns."""
    binary = debian_command("prometheus", "prometheus")
    port = free_port()
    home = workdir / name
    home.mkdir()
    config = home / "prometheus.yml"
    config.write_text(
        prometheus_config(targets, rule_files=rule_files, alertmanager_url=alertmanager_url),
        encoding="utf-8",
    )
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={home / 'data'}",
        f"--web.listen-address={LOOPBACK}:{port}",
        # links (generatorURL in alerts) otherwise name this machine's host name
        f"--web.external-url=http://{LOOPBACK}:{port}",
        "--web.enable-lifecycle",  # POST /-/reload after rewriting the rule files
    ]
    service = Service(name, f"http://{LOOPBACK}:{port}", workdir / f"{name}.log")
    process = start_process(request, name, argv, dict(os.environ), service.log_path)
    wait_ready(process, service, "/-/ready", timeout=ready_timeout)
    prometheus = Prometheus(service, process, config)
    wait_targets_up(prometheus, len(targets), timeout=targets_timeout)
    return prometheus


def prometheus_config(
    targets: Sequence[str],
    *,
    rule_files: Sequence[Path] = (),
    alertmanager_url: str | None = None,
) -> str:
    interval = f"{SCRAPE_INTERVAL_SECONDS}s"
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,  # may not exceed the interval (default 10s)
            "evaluation_interval": interval,
        },
        "scrape_configs": [
            {"job_name": EXPORTER_JOB, "static_configs": [{"targets": list(targets)}]}
        ],
    }
    if rule_files:
        config["rule_files"] = [str(path) for path in rule_files]
    if alertmanager_url is not None:
        parts = urlsplit(alertmanager_url)
        config["alerting"] = {
            "alertmanagers": [
                {
                    "scheme": parts.scheme or "http",
                    "path_prefix": parts.path or "/",
                    "static_configs": [{"targets": [parts.netloc]}],
                }
            ]
        }
    # JSON is YAML: no YAML library needed to write the file
    return json.dumps(config, indent=2)


def api_get(prometheus: Prometheus, path: str) -> Any:
    """GET a Prometheus API path; its `data`, or an error with the log tail."""
    url = prometheus.base_url + path
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            payload = json.load(response)
    except (OSError, ValueError) as exc:
        pytest.fail(
            f"GET {url}: {exc}; last lines of its log:\n{log_tail(prometheus.service.log_path)}"
        )
    assert payload.get("status") == "success", f"GET {url}: {payload}"
    return payload["data"]


def wait_targets_up(prometheus: Prometheus, expected: int, *, timeout: float) -> None:
    """Poll /api/v1/targets until `expected` targets are up; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if prometheus.process.poll() is not None:
            break
        seen = api_get(prometheus, "/api/v1/targets?state=active")["activeTargets"]
        if sum(target.get("health") == "up" for target in seen) >= expected:
            return
        time.sleep(0.2)
    states = [
        (target.get("scrapeUrl"), target.get("health"), target.get("lastError")) for target in seen
    ]
    pytest.fail(
        f"{prometheus.service.name}: {expected} targets not up after {timeout}s: {states}; "
        f"last lines of its log:\n{log_tail(prometheus.service.log_path)}"
    )


def reload(prometheus: Prometheus) -> None:
    """POST /-/reload (after changing a rule file): --web.enable-lifecycle allows it."""
    request = urllib.request.Request(prometheus.base_url + "/-/reload", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
    except urllib.error.HTTPError as exc:
        with exc:
            pytest.fail(f"reload: HTTP {exc.code}: {exc.read()!r}")
