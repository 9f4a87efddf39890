"""The postmortem policy in Debian's Chromium: a real Prometheus scrapes request counters
that never fail; an incident of that service is judged no_postmortem_needed, listed
apart; a person finds it, reads why, and marks it as requiring a postmortem."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import Counter

from tests.conftest import capture, shifted
from tests.processes import AUTH, Service, poll, start_receiver
from tests.prometheus_process import api_get, start_exporter, start_prometheus
from tests.system.test_browser import (
    artifacts_dir,
    launch_chromium,
    log_in,
    new_page,
    post_webhook,
    require_browser,
)

with contextlib.suppress(ImportError):  # without it, require_browser() skips first
    from playwright.async_api import Page, async_playwright, expect

SLO = {
    "name": "availability",
    "objective": 99.9,
    "good": 'http_requests_total{service="payments",code="200"}',
    "total": 'http_requests_total{service="payments"}',
}


@contextlib.asynccontextmanager
async def healthy_traffic(requests: Counter) -> AsyncIterator[None]:
    """Ten good requests every tenth of a second, none failing."""

    async def run() -> None:
        while True:
            requests.inc(10)
            await asyncio.sleep(0.1)

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_no_postmortem_needed_found_apart_and_promoted_in_a_browser(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    require_browser()
    exporter = start_exporter(request)
    counter = Counter("http_requests", "requests", ["service", "code"], registry=exporter.registry)
    prometheus = start_prometheus(request, tmp_path, [exporter.address])
    receiver, _ = start_receiver(
        request,
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'r.db'}",
        extra_env={
            "RECEIVER_LANGUAGE": "zh",
            "RECEIVER_TIMEZONE": "Asia/Shanghai",
            "RECEIVER_PROMETHEUS_URL": prometheus.base_url,
            "RECEIVER_SLOS": json.dumps({"payments": [SLO]}),
        },
    )
    problems: list[str] = []
    async with (
        healthy_traffic(counter.labels(service="payments", code="200")),
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
    ):

        async def history() -> bool | None:
            found = api_get(
                prometheus, "/api/v1/query?query=count_over_time(http_requests_total[1m])"
            )
            samples = [float(item["value"][1]) for item in found["result"]]
            return True if samples and max(samples) >= 5 else None

        await poll("five scrapes of the counters", history, 30)
        # the captured alerts, moved to the last seconds: Prometheus has their SLI
        firing, resolved = capture("firing_group_3"), capture("resolved_group_3")
        began = datetime.fromisoformat(firing["alerts"][0]["startsAt"].replace("Z", "+00:00"))
        delta = datetime.now(UTC) - timedelta(seconds=4) - began
        incident_id = await post_webhook(http, receiver, json.dumps(shifted(firing, delta)))
        await post_webhook(http, receiver, json.dumps(shifted(resolved, delta)))

        async def judged() -> bool | None:
            url = f"{receiver.base_url}/api/v1/incidents?postmortem=not_needed"
            async with http.get(url, headers=AUTH) as response:
                listed = [i["id"] for i in (await response.json())["incidents"]]
            return True if incident_id in listed else None

        await poll("the verdict no_postmortem_needed", judged, 60)

        async with async_playwright() as p:
            browser = await launch_chromium(p)
            try:
                page = await new_page(browser, receiver, problems)
                await log_in(page, receiver)
                await found_apart_and_promoted(page, receiver, incident_id, tmp_path)
            finally:
                await browser.close()
    assert problems == []


async def found_apart_and_promoted(
    page: Page, receiver: Service, incident_id: int, tmp_path: Path
) -> None:
    rows = page.locator("table.incidents tbody tr")
    await expect(rows).to_have_count(0)  # the only incident needs no postmortem
    apart = page.get_by_role("link", name="无需事后分析的事故（1）")
    await apart.click()
    await expect(page).to_have_url(f"{receiver.base_url}/?postmortem=not_needed")
    await expect(
        page.get_by_role("heading", name=re.compile("^无需事后分析的事故"))
    ).to_be_visible()
    await expect(rows).to_have_count(1)
    await rows.locator("td.c-title a").click()
    await expect(page).to_have_url(f"{receiver.base_url}/incidents/{incident_id}")
    policy = page.locator("#postmortem-policy")
    await expect(policy).to_have_text("事后分析: 无需（no_postmortem_needed：未达到任何触发条件）")
    # the draft says why, from the SLI Prometheus measured
    draft = page.locator(".draft")
    await expect(draft).to_contain_text("无需事后分析")
    await expect(draft).to_contain_text("SLI 在事故期间未低于目标 99.9%")
    await page.screenshot(path=str(artifacts_dir(tmp_path) / "no-postmortem-needed.png"))
    await page.get_by_role("button", name="标记为需要事后分析").click()
    await expect(policy).to_have_text("事后分析: 需要（由 zhangsan 标记）")
    await expect(page.get_by_role("button", name="标记为需要事后分析")).to_have_count(0)
    await expect(draft).to_contain_text("需要事后分析：由 zhangsan 标记为需要")
    await page.goto("/")
    await expect(rows).to_have_count(1)
    await expect(page.get_by_role("link", name=re.compile("^无需事后分析的事故"))).to_have_count(0)
