"""Issue 6: what operators rely on around the service's life: metrics, probes, SIGTERM,
check-config.

- /metrics reads real values after real requests (in process, on both backends), and its
  names follow Prometheus conventions; RECEIVER_METRICS_PUBLIC decides whether it needs
  credentials.
- /healthz and /readyz answer, and /readyz names an unwritable drafts directory.
- SIGTERM under load and `check-config` need real processes: tests/system/test_shutdown.py.

Speed is measured, not asserted: the probes' timings are only printed.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from receiver.app import create_app
from receiver.config import Settings
from receiver.metrics import PREFIX
from tests.conftest import Clock, capture, capture_text
from tests.inbox import applied
from tests.processes import AUTH, TOKEN

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


async def scrape_once(
    client: TestClient[Any, Any], name: str, seconds: float = 15.0, **labels: str
) -> Scrape:
    """The metrics once the sample `name{labels}` exists; fails after `seconds`."""
    key = (name, frozenset(labels.items()))
    async with asyncio.timeout(seconds):
        while True:
            metrics = await scrape(client)
            if key in metrics.samples:
                return metrics
            await asyncio.sleep(0.02)


async def post_webhook(client: TestClient[Any, Any], body: str | bytes) -> tuple[int, Any]:
    """A refusal's status and error; or 202 and, once applied, what the webhook did
    (tests.inbox.applied)."""
    response = await client.post("/api/v1/alerts", data=body, headers=JSON)
    answer = await response.json()
    if response.status == 202:
        return response.status, await applied(client, answer)
    return response.status, answer


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
    assert (status, body["status"], body["incident_status"]) == (202, "accepted", "firing")

    clock.advance(seconds=4)
    status, body = await post_webhook(client, capture_text("firing_group_3"))  # a retry
    webhook_posts += 1
    assert (status, body["status"]) == (202, "duplicate")

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
    assert (status, body["incident_status"]) == (202, "drafted"), body

    # the draft's file is written after the commit that made the entry applied
    metrics = await scrape_once(client, f"{PREFIX}_draft_exports_total", result="written")
    p = PREFIX
    webhooks = f"{p}_webhooks_received_total"
    # accepted into the inbox, the retry too (it changes nothing when applied)
    assert metrics.value(webhooks, result="accepted", reason="") == 3
    assert metrics.value(webhooks, result="rejected", reason="malformed") == 1
    results = {dict(labels)["result"] for name, labels in metrics.samples if name == webhooks}
    assert results == {"accepted", "rejected"}
    assert metrics.value(f"{p}_inbox_backlog") == 0
    assert metrics.value(f"{p}_inbox_apply_lag_seconds") == 0
    assert metrics.value(f"{p}_inbox_quarantined_total") == 0
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
    expected = {
        "status": "ready",
        "checks": {"store": "ok", "schema": "ok", "drafts_dir": "ok"},
        "inbox": {"backlog": 0, "lag_seconds": 0.0, "quarantined": 0},
    }
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
    assert (status, body["created"]) == (202, True), body


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
