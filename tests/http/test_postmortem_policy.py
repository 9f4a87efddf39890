"""The postmortem policy on the pages and the API: an incident that needs no postmortem
is listed apart, says so on its page, and people can promote it; bad input is a 4xx."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from receiver.web.keys import SERVICE
from tests.conftest import Clock, capture_text
from tests.http.test_review import AUTH, TOKEN, csrf_of, drafted_incident, log_in, post_alerts
from tests.service.test_slo_draft import AVAILABILITY, figure, record

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> TestClient[Any, Any]:
    settings = make_settings(
        auth_token=TOKEN,
        reconcile_interval=0,
        prometheus_url="http://127.0.0.1:9",  # not there: the worker's one try fails
        slos={"payments": [AVAILABILITY]},
    )
    return await aiohttp_client(create_app(settings, clock=clock))


async def tried_once(client: TestClient[Any, Any], incident_id: int) -> None:
    """The evidence worker's one try at Prometheus (not due again on the test's clock)."""
    service = client.app[SERVICE]
    for _ in range(200):
        async with service.db.read() as repo:
            tried = await repo.evidence.of(incident_id)
        if tried is not None and tried.attempts:
            return
        await asyncio.sleep(0.05)
    pytest.fail("the evidence worker never tried")


def listed(html: str) -> set[int]:
    return {
        int(found) for found in re.findall(r'<td class="c-id"><a href="/incidents/(\d+)"', html)
    }


async def test_no_postmortem_needed_is_listed_apart_and_can_be_promoted(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    await tried_once(client, incident_id)
    tiny = figure(0, 1, bad=3, total=900, burned=0.002, remaining=0.9, worst_ratio=0.004)
    await client.app[SERVICE].evidence.store(incident_id, record(tiny), 1)
    await log_in(client)

    main = await (await client.get("/")).text()
    assert incident_id not in listed(main)
    assert '<a href="/?postmortem=not_needed" id="not-needed">无需事后分析的事故（1）</a>' in main
    apart = await (await client.get("/?postmortem=not_needed")).text()
    assert listed(apart) == {incident_id}
    api = await client.get("/api/v1/incidents?postmortem=not_needed", headers=AUTH)
    assert [i["id"] for i in (await api.json())["incidents"]] == [incident_id]

    page = await (await client.get(f"/incidents/{incident_id}")).text()
    assert "事后分析: 无需（no_postmortem_needed：未达到任何触发条件）" in page
    promoted = await client.post(
        f"/incidents/{incident_id}/promote",
        data={"csrf_token": csrf_of(page)},
        allow_redirects=False,
    )
    assert promoted.status == 303
    page = await (await client.get(f"/incidents/{incident_id}")).text()
    assert "事后分析: 需要（由 zhangsan 标记）" in page
    assert "标记为需要事后分析</button>" not in page  # nothing left to promote
    assert re.search(r"zhangsan 于 [^<]+ 标记为需要事后分析", page)  # the activity list
    assert incident_id in listed(await (await client.get("/")).text())


async def test_bad_filters_and_promotions_are_4xx_with_json(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    bad = await client.get("/api/v1/incidents?postmortem=maybe", headers=AUTH)
    assert bad.status == 422
    assert (await bad.json())["error"] == "invalid_query"
    # checkout has no SLOs: the policy did not judge it, there is nothing to promote
    await post_alerts(client, capture_text("firing_single"))
    clock.advance(seconds=5)
    result = await post_alerts(client, capture_text("resolved_single"))
    refused = await client.post(f"/api/v1/incidents/{result['incident_id']}/promote", headers=AUTH)
    assert refused.status == 409
    assert (await refused.json())["error"] == "conflict"
    missing = await client.post("/api/v1/incidents/999999/promote", headers=AUTH)
    assert missing.status == 404
    assert (await missing.json())["error"] == "not_found"


async def test_the_api_promotes_and_says_the_revision(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    await tried_once(client, incident_id)
    tiny = figure(0, 1, bad=3, total=900, burned=0.002, remaining=0.9, worst_ratio=0.004)
    await client.app[SERVICE].evidence.store(incident_id, record(tiny), 1)
    answer = await client.post(f"/api/v1/incidents/{incident_id}/promote", headers=AUTH)
    assert answer.status == 200
    body = await answer.json()
    assert body["postmortem"] == "required"
    assert body["draft_revision"] >= 2
    required = await client.get("/api/v1/incidents?postmortem=required", headers=AUTH)
    assert [i["id"] for i in (await required.json())["incidents"]] == [incident_id]


async def test_the_kpi_page_shows_the_budget_burned_and_the_detect_trend(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    await tried_once(client, incident_id)
    burned = figure(-5, 4, bad=444, total=4000, burned=0.37, remaining=0.55, worst_ratio=0.2)
    await client.app[SERVICE].evidence.store(incident_id, record(burned), 1)
    await log_in(client)
    page = await (await client.get("/kpi?months=1&until=2026-11")).text()
    budget = page[page.index('id="kpi-budget"') :]
    assert re.search(
        r"<td>payments</td><td>availability</td><td[^>]*>2026-11</td><td>37%</td><td>1", budget
    )
    # the trend's chart, its description saying the month's mean: the impact began five
    # minutes before the alert
    assert 'id="kpi-detect-title"' in page
    assert "每月平均发现用时（自 SLI 低于目标至首条告警）：2026-11 5 分钟。" in page
    empty = await (await client.get("/kpi?months=1&until=2026-10")).text()
    assert "所选范围内没有 SLO 数据" in empty


async def test_promoting_on_the_page_an_incident_not_judged_says_why_in_chinese(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    await post_alerts(client, capture_text("firing_single"))  # checkout: no SLOs
    clock.advance(seconds=5)
    result = await post_alerts(client, capture_text("resolved_single"))
    await log_in(client)
    page = await (await client.get(f"/incidents/{result['incident_id']}")).text()
    assert "标记为需要事后分析</button>" not in page  # nothing to promote
    refused = await client.post(
        f"/incidents/{result['incident_id']}/promote", data={"csrf_token": csrf_of(page)}
    )
    assert refused.status == 409
    assert "这个事故的服务没有配置 SLO，事后分析策略没有判断它" in await refused.text()
