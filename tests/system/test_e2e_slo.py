"""User impact end to end: a real Prometheus scrapes good/total request counters this test
drives, its alert rule feeds a real Alertmanager that posts to the receiver. The error
ratio rises before the alert's `for:` ends and falls before it resolves; the draft's
impact window brackets the failures within two scrape intervals, the budget burned
matches the hand computation within 2%, and the policy requires a postmortem for the
budget. A second, tiny incident is marked no_postmortem_needed.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import Counter

from receiver.config import load_settings
from receiver.evidence.record import SloFigure
from receiver.store import open_configured_database
from tests.processes import AUTH, poll, start_alertmanager, start_receiver
from tests.prometheus_process import (
    SCRAPE_INTERVAL_SECONDS,
    Prometheus,
    prometheus_config,
    reload,
    start_exporter,
    start_prometheus,
)
from tests.system.test_e2e_evidence import wait_for_alertmanager

RATIO = (
    'sum(rate(checkout_requests_total{code="500"}[3s])) / sum(rate(checkout_requests_total[3s]))'
)
OBJECTIVE = 99.0  # percent: one failed request in a second's 200 is already out of it
SLO = {
    "name": "availability",
    "objective": OBJECTIVE,
    "good": 'checkout_requests_total{code="200"}',
    "total": "checkout_requests_total",
}
POLICY = {"budget_burned_percent": 200, "impact_minutes": 30, "detect_minutes": 15}
TICK = 0.05  # seconds: ten requests a tick, 200 a second


def rule_file(path: Path) -> Path:
    rule = {
        "alert": "CheckoutErrors",
        "expr": f"{RATIO} > 0.02",
        "for": "3s",
        "labels": {"severity": "warning", "service": "checkout"},  # P2: not the priority
        "annotations": {"summary": "checkout 5xx ratio above 2%"},
    }
    groups = {"groups": [{"name": "checkout", "interval": "1s", "rules": [rule]}]}
    path.write_text(json.dumps(groups), encoding="utf-8")  # JSON is YAML
    return path


@dataclass
class Traffic:
    """Requests every tick; `bad` of each ten fail (`every`: only every n-th tick).
    Every tick's cumulative counts are logged, to count what happened by any moment."""

    good: Counter
    failed: Counter
    bad: int = 0
    every: int = 1
    log: list[tuple[float, float, float]] = field(default_factory=list)  # at, good, failed
    switched: dict[str, float] = field(default_factory=dict)

    def phase(self, name: str, bad: int, every: int = 1) -> None:
        self.bad, self.every = bad, every
        self.switched[name] = time.time()

    async def run(self) -> None:
        good = failed = 0.0
        tick = 0
        while True:
            bad = self.bad if tick % self.every == 0 else 0
            self.good.inc(10 - bad)
            self.failed.inc(bad)
            good, failed = good + 10 - bad, failed + bad
            self.log.append((time.time(), good, failed))
            tick += 1
            await asyncio.sleep(TICK)

    def counts_until(self, moment: datetime) -> tuple[float, float]:
        """(all, failed) requests made by then."""
        index = bisect.bisect_right([at for at, _, _ in self.log], moment.timestamp())
        if index == 0:
            return 0.0, 0.0
        _, good, failed = self.log[index - 1]
        return good + failed, failed

    def failed_between(self, start: float, end: float) -> float:
        """Failed requests made from `start` to `end` (epoch seconds)."""
        until_end = [failed for at, _, failed in self.log if at <= end]
        until_start = [failed for at, _, failed in self.log if at < start]
        return (until_end[-1] if until_end else 0.0) - (until_start[-1] if until_start else 0.0)


@contextlib.asynccontextmanager
async def running(traffic: Traffic) -> AsyncIterator[None]:
    task = asyncio.create_task(traffic.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def figures_of(database_url: str, incident_id: int) -> SloFigure:
    database = open_configured_database(load_settings(database_url=database_url))
    try:
        async with database.read() as repo:
            stored = await repo.evidence.of(incident_id)
    finally:
        await database.close()
    assert stored is not None
    assert stored.record is not None
    [figure] = stored.record.slos
    return figure


async def test_impact_window_burn_and_policy_from_a_real_sli(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str
) -> None:
    exporter = start_exporter(request)
    requests = Counter("checkout_requests", "requests", ["code"], registry=exporter.registry)
    traffic = Traffic(requests.labels(code="200"), requests.labels(code="500"))
    prometheus: Prometheus = start_prometheus(request, tmp_path, [exporter.address])
    receiver, _ = start_receiver(
        request,
        tmp_path,
        database_url=database_url,
        extra_env={
            "RECEIVER_PROMETHEUS_URL": prometheus.base_url,
            "RECEIVER_EVIDENCE_BEFORE": "3m",
            "RECEIVER_REOPEN_WINDOW": "0s",  # the second blip is an incident of its own
            "RECEIVER_SLOS": json.dumps({"checkout": [SLO]}),
            "RECEIVER_POSTMORTEM_POLICY": json.dumps(POLICY),
        },
    )
    alertmanager = start_alertmanager(request, tmp_path, receiver.base_url)
    prometheus.config_path.write_text(
        prometheus_config(
            [exporter.address],
            rule_files=[rule_file(tmp_path / "rules.yml")],
            alertmanager_url=alertmanager.base_url,
        ),
        encoding="utf-8",
    )
    reload(prometheus)
    wait_for_alertmanager(prometheus)

    async with running(traffic), aiohttp.ClientSession(headers=AUTH) as http:

        async def drafts() -> dict[int, str]:
            """Each incident's current draft, once its SLO figures are in."""
            async with http.get(f"{receiver.base_url}/api/v1/incidents") as response:
                listing = await response.json()
            found = {}
            for incident in listing["incidents"]:
                url = f"{receiver.base_url}/api/v1/incidents/{incident['id']}/postmortem.md"
                async with http.get(url) as response:
                    text = await response.text()
                if response.status == 200 and "（SLI），告警 " in text:
                    found[int(incident["id"])] = text
            return found

        async def drafted(count: int) -> dict[int, str] | None:
            found = await drafts()
            return found if len(found) >= count else None

        traffic.phase("healthy", 0)
        await asyncio.sleep(30)  # a history to count the budget over
        traffic.phase("failing", 5)  # half the requests fail
        await asyncio.sleep(10)
        traffic.phase("recovered", 0)
        first = await poll("the first draft with its SLO figures", lambda: drafted(1), 90)
        [(big, big_draft)] = first.items()

        traffic.phase("blip", 1, every=2)  # one in twenty fails: 5%
        await asyncio.sleep(7)
        traffic.phase("after blip", 0)
        both = await poll("the second draft with its SLO figures", lambda: drafted(2), 90)
        [(tiny, tiny_draft)] = [(i, text) for i, text in both.items() if i != big]

        async with http.get(f"{receiver.base_url}/api/v1/incidents/{big}") as response:
            incident = await response.json()

    # the impact window: the failures, within two scrape intervals each way; before the
    # alert fired (the rule's `for:`) and ended before it resolved
    figure = await figures_of(database_url, big)
    assert figure.reason is None, figure.reason
    assert figure.impact_start is not None
    assert figure.impact_end is not None
    began, stopped = traffic.switched["failing"], traffic.switched["recovered"]
    slack = 2 * SCRAPE_INTERVAL_SECONDS
    assert abs(figure.impact_start.timestamp() - began) <= slack, (figure.impact_start, began)
    assert abs(figure.impact_end.timestamp() - stopped) <= slack, (figure.impact_end, stopped)
    alert_start = datetime.fromisoformat(incident["started_at"])
    alert_end = datetime.fromisoformat(incident["ended_at"])
    assert figure.impact_start < alert_start
    assert figure.impact_end < alert_end

    # the burn by hand: every failed request fell inside the impact; the budget is 1% of
    # all requests made in the SLO window up to the impact's end (all there were)
    made, _ = traffic.counts_until(figure.impact_end)
    failed = traffic.failed_between(began, stopped)
    assert figure.bad == pytest.approx(failed, rel=0.02)
    by_hand = failed / ((1 - OBJECTIVE / 100) * made)
    assert figure.burned is not None
    assert figure.burned == pytest.approx(by_hand, rel=0.02)
    shown = re.search(r"本次消耗 30 天错误预算的 ([0-9.]+)%", big_draft)
    assert shown, big_draft
    assert float(shown.group(1)) == pytest.approx(figure.burned * 100, abs=0.1)
    assert re.search(
        r"用户受影响 [0-9:]+–[0-9:]+（SLI），告警 [0-9:]+–[0-9:]+；发现用时 ", big_draft
    )
    # the SLI drawn beside the alert's chart, its objective the threshold line
    assert "：`slo:availability:error_ratio`（阈值 `> 0.01`）" in big_draft
    assert "**需要事后分析**：本次消耗错误预算" in big_draft
    assert "达到触发条件“错误预算消耗 ≥ 200%”" in big_draft

    small = await figures_of(database_url, tiny)
    assert small.burned is not None
    assert small.burned * 100 < POLICY["budget_burned_percent"]
    assert "**无需事后分析**（`no_postmortem_needed`）" in tiny_draft
    apart = await incidents_where(receiver.base_url, "not_needed")
    assert [i["id"] for i in apart] == [tiny]


async def incidents_where(base_url: str, postmortem: str) -> list[dict[str, object]]:
    async with (
        aiohttp.ClientSession(headers=AUTH) as http,
        http.get(f"{base_url}/api/v1/incidents?postmortem={postmortem}") as response,
    ):
        body = await response.json()
    incidents: list[dict[str, object]] = body["incidents"]
    return incidents
