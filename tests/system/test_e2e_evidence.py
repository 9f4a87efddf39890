"""Evidence end to end: a real Prometheus scraping a gauge this test drives, its alert rule
feeding a real Alertmanager that posts to the receiver; the draft's chart and figures
match what the test drove. Then Prometheus hangs during a draft and comes back.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import Gauge

from receiver.app import create_app
from receiver.config import Settings
from receiver.web.keys import EVIDENCE
from tests.conftest import Clock, capture
from tests.http.test_review import csrf_of, log_in
from tests.inbox import applied
from tests.processes import AUTH, poll, start_alertmanager, start_receiver
from tests.prometheus_process import (
    SCRAPE_INTERVAL_SECONDS,
    Prometheus,
    api_get,
    prometheus_config,
    reload,
    start_exporter,
    start_prometheus,
)

RULE = "checkout_error_ratio > 0.05"
SVG = "{http://www.w3.org/2000/svg}"
# | peak | peak at | peak series | above threshold | first crossing | last recovery |
TABLE_ROW = re.compile(r"^\| ([0-9.e+-]+) \| (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \|", re.MULTILINE)


def rule_file(path: Path) -> Path:
    rules = {
        "groups": [
            {
                "name": "checkout",
                "interval": "1s",
                "rules": [
                    {
                        "alert": "CheckoutErrorRatioHigh",
                        "expr": RULE,
                        "labels": {"severity": "critical"},
                        "annotations": {"summary": "checkout 5xx ratio above 5%"},
                    }
                ],
            }
        ]
    }
    path.write_text(json.dumps(rules), encoding="utf-8")  # JSON is YAML
    return path


async def drive(gauge: Gauge, steps: list[tuple[float, float]]) -> dict[float, float]:
    """Set the gauge to each value for its seconds; when each value was set (epoch)."""
    set_at: dict[float, float] = {}
    for value, seconds in steps:
        gauge.set(value)
        set_at[value] = time.time()
        await asyncio.sleep(seconds)
    return set_at


def wait_for_alertmanager(prometheus: Prometheus, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api_get(prometheus, "/api/v1/alertmanagers")["activeAlertmanagers"]:
            return
        time.sleep(0.2)
    pytest.fail(f"Prometheus knew no Alertmanager after {timeout}s")


def chart_paths(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)  # well-formed XML or this raises
    return [
        path
        for group in root.iter(f"{SVG}g")
        if (group.get("id") or "").startswith("series-")
        for path in group.iter(f"{SVG}path")
    ]


async def test_alert_to_draft_with_a_chart_of_what_the_gauge_did(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str
) -> None:
    exporter = start_exporter(request)
    gauge = Gauge(
        "checkout_error_ratio", "5xx share", ["service"], registry=exporter.registry
    ).labels(service="checkout")
    gauge.set(0.01)
    prometheus = start_prometheus(request, tmp_path, [exporter.address])
    drafts = tmp_path / "drafts"
    receiver, _ = start_receiver(
        request,
        tmp_path,
        database_url=database_url,
        drafts_dir=drafts,
        extra_env={
            "RECEIVER_PROMETHEUS_URL": prometheus.base_url,
            "RECEIVER_BUSINESS_QUERIES": json.dumps(
                {"checkout": {"error_rate": "checkout_error_ratio"}}
            ),
        },
    )
    alertmanager = start_alertmanager(request, tmp_path, receiver.base_url)
    rules = rule_file(tmp_path / "rules.yml")
    prometheus.config_path.write_text(
        prometheus_config(
            [exporter.address], rule_files=[rules], alertmanager_url=alertmanager.base_url
        ),
        encoding="utf-8",
    )
    reload(prometheus)
    # Prometheus drops alerts while it knows no Alertmanager, and re-sends a firing one
    # only a minute later: the alert must not fire before it knows this one
    wait_for_alertmanager(prometheus)

    set_at = await drive(gauge, [(0.01, 3), (0.08, 4), (0.12, 4), (0.09, 3), (0.02, 0)])

    async with aiohttp.ClientSession(headers=AUTH) as http:

        async def draft_with_evidence() -> str | None:
            async with http.get(f"{receiver.base_url}/api/v1/incidents") as response:
                listing = await response.json()
            for incident in listing["incidents"]:
                url = f"{receiver.base_url}/api/v1/incidents/{incident['id']}/postmortem.md"
                async with http.get(url) as response:
                    text = await response.text()
                    if response.status == 200 and "![图 1]" in text:
                        return text
            return None

        markdown = await poll("a draft with its evidence chart", draft_with_evidence, 60)

    assert "**监控证据**（来自 Prometheus" in markdown
    assert "checkout_error_ratio" in markdown
    assert "（阈值 `> 0.05`）" in markdown
    peak, peak_at = TABLE_ROW.findall(markdown)[0]
    assert float(peak) == pytest.approx(0.12)
    seen = datetime.strptime(peak_at, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    # the first sample at 0.12: within one scrape interval (plus the query step) of the set
    assert abs(seen - set_at[0.12]) <= SCRAPE_INTERVAL_SECONDS + 2, (peak_at, set_at[0.12])
    # the template's 业务指标 from the configured query, against its target
    assert "- **错误率**: 事故期间最差 12.00%" in markdown
    assert "未达标，来自 Prometheus" in markdown

    async def chart_beside_the_draft() -> Path | None:
        # written after the revision that names it is stored: wait for it, don't race it
        return next(iter(drafts.glob("*-evidence-1.svg")), None)

    svg_file = await poll("the chart file beside the draft", chart_beside_the_draft, 30)
    assert f"]({svg_file.name})" in markdown  # the draft names the file beside it
    assert len(chart_paths(svg_file.read_text(encoding="utf-8"))) == 1  # one series


async def test_prometheus_hanging_during_the_draft_then_back(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
) -> None:
    exporter = start_exporter(request)
    gauge = Gauge("checkout_error_ratio", "5xx share", registry=exporter.registry)
    prometheus = start_prometheus(request, tmp_path, [exporter.address])
    set_at = await drive(gauge, [(0.02, 2), (0.2, 5), (0.03, 2)])
    settings = make_settings(prometheus_url=prometheus.base_url, evidence_timeout="1s")
    clock = Clock(datetime.now(UTC))
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings, clock=clock))

    # a real capture, its alert moved to the last seconds and its expression to the gauge
    url = "http://127.0.0.1:9090/graph?g0.expr=" + quote(RULE) + "&g0.tab=1"
    firing, resolved = capture("firing_single"), capture("resolved_single")
    started = datetime.fromtimestamp(set_at[0.02] + 1, UTC)
    ended = datetime.fromtimestamp(set_at[0.03] + 1, UTC)
    for body in (firing, resolved):
        for alert in body["alerts"]:
            alert["generatorURL"] = url
            alert["startsAt"] = started.isoformat().replace("+00:00", "Z")
        body["alerts"][0]["generatorURL"] = url
    resolved["alerts"][0]["endsAt"] = ended.isoformat().replace("+00:00", "Z")

    os.kill(prometheus.process.pid, signal.SIGSTOP)  # hangs: connections open, no answer
    try:
        for body in (firing, resolved):
            response = await client.post("/api/v1/alerts", json=body)
            assert response.status == 202, await response.text()
        incident_id = (await applied(client, await response.json()))["incident_id"]

        async def missing_line() -> str | None:
            response = await client.get(f"/api/v1/incidents/{incident_id}/postmortem.md")
            text = await response.text()
            return text if "缺少证据" in text else None

        first = await poll("the missing-evidence line", missing_line, 20)
    finally:
        os.kill(prometheus.process.pid, signal.SIGCONT)
    assert "timed out" in first
    revisions = await (await client.get(f"/api/v1/incidents/{incident_id}/revisions")).json()
    assert [r["revision"] for r in revisions["revisions"]] == [1]

    # the background retry, once it is due
    clock.now += timedelta(minutes=1)
    assert await client.app[EVIDENCE].run_once() == 1
    revisions = await (await client.get(f"/api/v1/incidents/{incident_id}/revisions")).json()
    assert [(r["revision"], r["created_by"]) for r in revisions["revisions"]] == [
        (1, None),
        (2, "Prometheus"),
    ]
    second = await (await client.get(f"/api/v1/incidents/{incident_id}/postmortem.md")).text()
    assert "缺少证据" not in second
    assert "![图 1]" in second
    [(peak, _)] = TABLE_ROW.findall(second)
    assert float(peak) == pytest.approx(0.2)
    # the page shows the stored chart inline, and fetches it again on request
    await log_in(client)
    page = await (await client.get(f"/incidents/{incident_id}")).text()
    assert f'src="/incidents/{incident_id}/evidence/1.svg"' in page
    refreshed = await client.post(
        f"/incidents/{incident_id}/evidence",
        data={"csrf_token": csrf_of(page)},
        allow_redirects=False,
    )
    assert refreshed.status == 303, await refreshed.text()
    revisions = await (await client.get(f"/api/v1/incidents/{incident_id}/revisions")).json()
    assert len(revisions["revisions"]) == 3
    chart = await client.get(f"/incidents/{incident_id}/evidence/1.svg")
    assert chart.status == 200
    assert chart.content_type == "image/svg+xml"
    assert len(chart_paths(await chart.text())) == 1
