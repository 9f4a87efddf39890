"""The KPI page, its CSV and GET /api/v1/kpi in-process: login and credentials, the
figures of real captures, the charts, the filters, and bad query values as 422s."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from receiver.domain.kpi import Mean, MonthFigures
from receiver.web.api import openapi
from receiver.web.pages.kpi_text import KPI_TEXT
from receiver.web.pages.kpi_view import month_row
from tests.conftest import Clock, capture_text
from tests.http.test_openapi import assert_valid
from tests.http.test_review import AUTH, TOKEN, log_in, post_alerts

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
RANGE = "months=2&until=2026-11"
BOM = b"\xef\xbb\xbf"


async def seeded(
    aiohttp_client: ClientFactory,
    make_settings: Callable[..., Settings],
    clock: Clock,
    **extra: Any,
) -> TestClient[Any, Any]:
    """payments (P2) fired and resolved; checkout (P1) still firing; logged in."""
    settings = make_settings(
        auth_token=TOKEN, reconcile_interval=0, timezone="Asia/Shanghai", **extra
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    await post_alerts(client, capture_text("firing_group_3"))
    await post_alerts(client, capture_text("resolved_group_3"))
    await post_alerts(client, capture_text("firing_single"))
    await log_in(client)
    return client


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> TestClient[Any, Any]:
    return await seeded(aiohttp_client, make_settings, clock)


async def test_page_and_api_need_login_and_credentials(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    app = create_app(make_settings(auth_token=TOKEN, reconcile_interval=0), clock=clock)
    anonymous = await aiohttp_client(app)
    for path in ("/kpi", "/kpi.csv"):
        response = await anonymous.get(path, allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == f"/login?next={path}"
    response = await anonymous.get("/api/v1/kpi")
    assert response.status == 401
    assert (await response.json())["error"] == "unauthenticated"


async def test_page_shows_charts_and_tables_of_the_incidents(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get(f"/kpi?{RANGE}")
    assert response.status == 200
    html = await response.text()
    assert '<a href="/kpi">指标</a>' in html  # the header's link
    assert "<h1>事故指标 <small>(2)</small></h1>" in html
    # three charts, each with a title and a description for screen readers
    assert html.count('<svg class="kpi-chart"') == 3
    assert '<title id="kpi-incidents-title">每月事故数</title>' in html
    assert "2026-10 0，2026-11 2。目标：每月少于 1 起。" in html
    incidents_chart = html.split('id="kpi-incidents-title"')[1].split("</svg>")[0]
    data = re.findall(r'data-label="([^"]+)" data-value="([^"]+)"', incidents_chart)
    assert data == [("2026-10", "0"), ("2026-11", "2")]
    # no script, no inline style: the CSP allows neither
    assert "<script" not in html
    assert " style=" not in html
    assert "script-src" not in response.headers["Content-Security-Policy"]
    # the same numbers in tables
    months = html.split('id="kpi-months"')[1].split("</table>")[0]
    assert re.search(r"<td class=\"nowrap\">2026-11</td>\s*<td>2 <small", months)
    assert "3 秒" in months  # the payments incident's MTTR, 19:11:48.595 → 19:11:51.946
    services = html.split('id="kpi-services"')[1].split("</table>")[0]
    assert "checkout" in services
    assert "payments" in services
    quarters = html.split('id="kpi-quarters"')[1].split("</table>")[0]
    assert "2026-Q4" in quarters
    assert 'href="/kpi.csv?months=2&amp;until=2026-11"' in html


async def test_api_answers_the_documented_figures(client: TestClient[Any, Any]) -> None:
    response = await client.get(f"/api/v1/kpi?{RANGE}", headers=AUTH)
    assert response.status == 200
    body = await response.json()
    assert_valid(openapi.build(), "Kpi", body)
    assert body["timezone"] == "Asia/Shanghai"
    assert body["months"] == ["2026-10", "2026-11"]
    november = body["totals"][1]
    assert (november["service"], november["incidents"]) == ("", 2)
    assert november["mttr"] == {
        "seconds": 3.351,
        "count": 1,
        "estimated": 0,
        "includes_estimates": False,
        "target_met": True,
    }
    assert november["mtta"] == {"seconds": None, "count": 0}
    assert [(m["service"], m["incidents"]) for m in body["by_service"]] == [
        ("checkout", 1),
        ("payments", 1),
    ]
    assert body["quarters"] == [
        {
            "service": "",
            "quarter": "2026-Q4",
            "incidents": 2,
            "p0_p1": 1,
            "p0_p1_target_met": False,
        }
    ]
    assert body["targets"]["mttr_seconds"] == 3600
    assert body["review"]["drafted"] == 1


async def test_service_filter(client: TestClient[Any, Any]) -> None:
    body = await (await client.get(f"/api/v1/kpi?{RANGE}&service=payments", headers=AUTH)).json()
    assert [m["incidents"] for m in body["totals"]] == [0, 1]
    assert body["quarters"][0]["p0_p1"] == 0
    assert body["services"] == ["checkout", "payments"]  # every service, for the filter
    html = await (await client.get(f"/kpi?{RANGE}&service=payments")).text()
    assert "<h1>事故指标 <small>(1)</small></h1>" in html
    assert '<option value="payments" selected>payments</option>' in html


async def test_csv_has_a_bom_and_the_same_numbers(client: TestClient[Any, Any]) -> None:
    response = await client.get(f"/kpi.csv?{RANGE}")
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert response.charset == "utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="kpi-2026-10-2026-11.csv"'
    )
    raw = await response.read()
    assert raw.startswith(BOM)
    rows = list(csv.reader(io.StringIO(raw[len(BOM) :].decode("utf-8"))))
    header = rows[0]
    assert header[:4] == ["类型", "期间", "服务", "事故数"]
    assert "MTTR（分钟）" in header
    by_key = {(row[0], row[1], row[2]): dict(zip(header, row, strict=True)) for row in rows[1:]}
    november = by_key[("月份", "2026-11", "全部")]
    assert november["事故数"] == "2"
    assert november["MTTR（分钟）"] == "0.1"
    assert november["MTTR 达标"] == "是"
    assert by_key[("月份", "2026-11", "payments")]["事故数"] == "1"
    assert by_key[("季度", "2026-Q4", "全部")]["P0/P1 次数"] == "1"


async def test_english_page_and_csv(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    client = await seeded(aiohttp_client, make_settings, clock, language="en")
    html = await (await client.get(f"/kpi?{RANGE}")).text()
    assert '<a href="/kpi">KPIs</a>' in html
    assert "<h1>Incident KPIs <small>(2)</small></h1>" in html
    assert "Incidents per month" in html
    assert not re.search(r"[\u4e00-\u9fff]", html)
    raw = await (await client.get(f"/kpi.csv?{RANGE}")).read()
    assert raw.startswith(BOM)
    header = raw[len(BOM) :].decode().splitlines()[0]
    assert header.startswith("kind,period,service,incidents,MTTR (minutes)")


BAD = [
    ("months", "0"),
    ("months", "37"),
    ("months", "abc"),
    ("months", "9" * 5000),
    ("until", "2026-13"),
    ("until", "26-11"),
    ("until", "0001-01"),
    ("service", "pay\x00ments"),
]


@pytest.mark.parametrize(("name", "value"), BAD)
async def test_bad_filters_are_422_never_5xx(
    client: TestClient[Any, Any], name: str, value: str
) -> None:
    query = {name: value}
    api = await client.get("/api/v1/kpi", params=query, headers=AUTH)
    assert api.status == 422
    body = await api.json()
    assert body["error"] == "invalid_query"
    assert body["details"][0]["field"] == name
    assert re.search(r"[\u4e00-\u9fff]", body["message"]), body  # RECEIVER_LANGUAGE=zh
    exported = await client.get("/kpi.csv", params=query)
    assert exported.status == 422
    assert (await exported.json())["error"] == "invalid_query"
    page = await client.get("/kpi", params=query)
    assert page.status == 422
    assert await page.json() == body  # the same answer, in the receiver's language


def test_an_mttr_resting_on_estimated_ends_is_marked() -> None:
    text = KPI_TEXT["zh"]
    row = MonthFigures(
        service="payments",
        month="2026-11",
        incidents=2,
        mttr=Mean(timedelta(minutes=30), 2, estimated=1),
        mtta=Mean(None, 0),
        mtbf=Mean(None, 0),
        mttr_met=True,
        mtbf_met=None,
        count_met=False,
    )
    shown = month_row(text, row)
    assert shown["mttr"] == "约 30 分钟"
    assert shown["estimated"] == 1
    exact = month_row(text, replace(row, mttr=Mean(timedelta(minutes=30), 2)))
    assert exact["mttr"] == "30 分钟"
