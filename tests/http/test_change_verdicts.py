"""Changes on the review pages: the incident page's verdict form (login, CSRF, bad input
answered with the right 4xx and a JSON body, stored data intact; a good verdict moves
the draft), the incident list's recent changes, and the KPI page's change-failure rate."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from receiver.web.keys import SERVICE
from tests.conftest import Clock
from tests.http.test_review import (
    AUTH,
    csrf_of,
    drafted_incident,
    log_in,
    markdown,
)

FIRST_ALERT = datetime(2026, 11, 26, 19, 11, 48, 595000, tzinfo=UTC)  # firing_group_3


async def stored_change(client: TestClient[Any, Any]) -> int:
    change = ServiceChange(
        source=ChangeSource.MANUAL,
        source_id="deploy-1",
        type=ChangeType.DEPLOY,
        service="payments",
        summary="payments-api v2.32.0",
        started_at=FIRST_ALERT - timedelta(minutes=15),
        actor="张三",
    )
    stored, _ = await client.app[SERVICE].record_change(change)
    assert stored.id is not None
    change_id: int = stored.id
    return change_id


async def test_the_verdict_form_checks_its_input_and_moves_the_draft(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    change_id = await stored_change(client)
    incident_id = await drafted_incident(client, clock)
    url = f"/incidents/{incident_id}/changes/{change_id}/verdict"
    assert (await client.post(url, data={"verdict": "cause"}, allow_redirects=False)).status in (
        302,
        303,
        401,
    )  # no session: the login page, never a verdict
    await log_in(client)
    page = await client.get(f"/incidents/{incident_id}")
    html = await page.text()
    assert 'id="changes"' in html
    assert "候选 1（待确认）" in html
    token = csrf_of(html)

    no_csrf = await client.post(url, data={"verdict": "cause"})
    assert no_csrf.status == 403
    assert (await no_csrf.json())["error"] == "csrf"
    bad = await client.post(url, data={"csrf_token": token, "verdict": "maybe"})
    assert bad.status == 422
    assert (await bad.json())["error"] == "invalid_verdict"
    missing = await client.post(
        f"/incidents/{incident_id}/changes/{change_id + 1}/verdict",
        data={"csrf_token": token, "verdict": "cause"},
    )
    assert missing.status == 404
    assert "error" in await missing.json()
    huge = await client.post(
        f"/incidents/{incident_id}/changes/99999999999999999999/verdict",
        data={"csrf_token": token, "verdict": "cause"},
    )
    assert huge.status == 404
    assert "1（待确认）" in await markdown(client, incident_id)  # nothing moved

    clock.advance(minutes=2)
    done = await client.post(
        url, data={"csrf_token": token, "verdict": "unrelated"}, allow_redirects=False
    )
    assert done.status == 303
    assert done.headers["Location"] == f"/incidents/{incident_id}#changes"
    text = await markdown(client, incident_id)
    assert "已排除：无关（zhangsan，" in text
    assert "候选（待确认）" not in text
    revisions = await client.get(f"/api/v1/incidents/{incident_id}/revisions", headers=AUTH)
    assert [r["created_by"] for r in (await revisions.json())["revisions"]][-1] == "zhangsan"


async def test_the_list_shows_recent_changes_and_the_incidents_after_them(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    await log_in(client)
    empty = await (await client.get("/")).text()
    assert "尚未收到变更记录。" in empty
    await stored_change(client)
    incident_id = await drafted_incident(client, clock)
    html = await (await client.get("/")).text()
    recent = html.split('id="recent-changes"', 1)[1].split("</section>", 1)[0]
    assert "最近变更" in recent
    assert "发布：payments-api v2.32.0" in recent
    assert f'<a href="/incidents/{incident_id}">#{incident_id}</a>' in recent
    other = await (await client.get("/?service=search")).text()
    assert "payments-api v2.32.0" not in other.split('id="recent-changes"', 1)[1]


async def test_the_kpi_page_shows_the_change_failure_rate(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    await log_in(client)
    await stored_change(client)
    await drafted_incident(client, clock)
    html = await (await client.get("/kpi?months=2&until=2026-11")).text()
    table = html.split('id="kpi-change-failure"', 1)[1].split("</table>", 1)[0]
    assert "<td>payments</td><td>1</td><td>1</td><td>100%</td>" in table
    assert "之后 2 小时 00 分内该服务发生事故的比例" in html


async def test_hostile_change_text_is_inert_on_the_pages(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    hostile = "<script>alert(1)</script>{{ 7*7 }}**bold** [x](javascript:alert(2))"
    change = ServiceChange(
        source=ChangeSource.MANUAL,
        source_id="hostile-1",
        type=ChangeType.DEPLOY,
        service="payments",
        summary=hostile * 40,
        started_at=FIRST_ALERT - timedelta(minutes=5),
        to_version=hostile,
        actor=hostile,
        link="javascript:alert(3)",
    )
    await client.app[SERVICE].record_change(change)
    incident_id = await drafted_incident(client, clock)
    await log_in(client)
    for path in (f"/incidents/{incident_id}", "/"):
        html = await (await client.get(path)).text()
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert 'href="javascript:' not in html
        assert "{{ 7*7 }}" in html  # shown as written, never evaluated
    text = await markdown(client, incident_id)
    assert "\\<script\\>" in text
    assert not re.search(r"(?<!\\)\]\(javascript:", text)  # escaped: never a link
