"""Review: human fields that survive re-rendering, the lifecycle, the review API and pages,
auth and CSRF, and drafts export."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from tests.conftest import Clock, capture, capture_text, shifted
from tests.http.conftest import AUTH as AUTH  # what the other review tests import from here
from tests.http.conftest import TOKEN as TOKEN
from tests.inbox import post_applied

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
JSON = {"Content-Type": "application/json"}
# what a browser asks for: error pages come as pages only to those who ask for HTML
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def post_alerts(client: TestClient[Any, Any], body: str) -> dict[str, Any]:
    """Post a webhook and wait for it to be applied: what it did (tests.inbox.applied)."""
    return await post_applied(client, "/api/v1/alerts", body, headers=AUTH)


async def drafted_incident(client: TestClient[Any, Any], clock: Clock) -> int:
    await post_alerts(client, capture_text("firing_group_3"))
    clock.advance(seconds=5)
    result = await post_alerts(client, capture_text("resolved_group_3"))
    assert result["draft_revision"] == 1
    return int(result["incident_id"])


async def markdown(client: TestClient[Any, Any], incident_id: int, revision: int = 0) -> str:
    query = f"?revision={revision}" if revision else ""
    response = await client.get(
        f"/api/v1/incidents/{incident_id}/postmortem.md{query}", headers=AUTH
    )
    assert response.status == 200
    return await response.text()


FIELDS = {
    "owner": "zhangsan",
    "direct_cause": "发布 v2.32.0 把连接池从 50 调到 5",
    "root_cause_technical": "连接池配置过小",
    "impact_chain": "连接池耗尽 → 请求排队 → P99 升高",
    "actions": [
        {"text": "扩大连接池并加告警", "owner": "lisi", "due": "2026-12-03", "horizon": "short"}
    ],
    "improvements": [{"text": "发布前压测", "area": "dev", "done": True}],
    "lessons_success": "回滚及时",
}


# -- human fields survive -------------------------------------------------------------------


async def test_human_fields_survive_refire_and_resolve(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    clock.advance(minutes=1)
    saved = await client.patch(
        f"/api/v1/incidents/{incident_id}", json=FIELDS, headers={**AUTH, "X-Actor": "zhangsan"}
    )
    assert saved.status == 200, await saved.text()
    assert (await saved.json())["draft_revision"] == 2
    edited = await markdown(client, incident_id)
    assert "- **技术原因**: 连接池配置过小" in edited

    # the same group fires again within the reopen window, then resolves
    clock.advance(minutes=10)
    again = shifted(capture("firing_group_3"), timedelta(minutes=11))
    assert (await post_alerts(client, json.dumps(again)))["incident_id"] == incident_id
    clock.advance(minutes=5)
    over = shifted(capture("resolved_group_3"), timedelta(minutes=11))
    assert (await post_alerts(client, json.dumps(over)))["draft_revision"] == 3

    latest = await markdown(client, incident_id)
    assert "修订 3" in latest
    assert "告警再次触发" in latest
    for text in (
        "zhangsan",
        "发布 v2.32.0 把连接池从 50 调到 5",
        "连接池配置过小",
        "连接池耗尽 → 请求排队 → P99 升高",
        "回滚及时",
        "- [ ] **扩大连接池并加告警**（负责人：lisi，截止：2026-12-03）",
        "- [x] **发布前压测**",
    ):
        assert text in latest, text
    # an event after recovery refreshes the draft and still keeps every word
    clock.advance(minutes=1)
    await client.post(
        "/api/v1/events",
        headers=AUTH,
        data={"type": "verify", "service": "payments", "message": "恢复", "actor": "wangwu"},
    )
    assert "连接池配置过小" in await markdown(client, incident_id)

    revisions = await (
        await client.get(f"/api/v1/incidents/{incident_id}/revisions", headers=AUTH)
    ).json()
    assert [(r["revision"], r["created_by"]) for r in revisions["revisions"]] == [
        (1, None),
        (2, "zhangsan"),
        (3, None),
    ]
    first = await markdown(client, incident_id, revision=1)
    assert "连接池配置过小" not in first


async def test_fields_are_validated_and_unknown_ones_refused(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    url = f"/api/v1/incidents/{incident_id}"
    unknown = await client.patch(url, json={"root_cause": "x"}, headers=AUTH)
    assert unknown.status == 422
    assert "root_cause" in (await unknown.json())["message"]
    bad_date = await client.patch(
        url, json={"actions": [{"text": "a", "due": "tomorrow"}]}, headers=AUTH
    )
    assert bad_date.status == 422
    assert (await bad_date.json())["details"][0]["field"].startswith("actions.0.due")
    too_long = await client.patch(url, json={"owner": "x" * 501}, headers=AUTH)
    assert too_long.status == 422
    fields = await (await client.get(f"{url}/fields", headers=AUTH)).json()
    assert fields["owner"] == ""  # nothing stored from refused edits
    assert (
        await client.patch("/api/v1/incidents/999", json={"owner": "x"}, headers=AUTH)
    ).status == 404


async def test_lifecycle_and_audit(client: TestClient[Any, Any], clock: Clock) -> None:
    incident_id = await drafted_incident(client, clock)
    url = f"/api/v1/incidents/{incident_id}/status"
    skip = await client.post(url, json={"status": "approved"}, headers=AUTH)
    assert skip.status == 409
    assert "in_review" in (await skip.json())["message"]
    bogus = await client.post(url, json={"status": "closed"}, headers=AUTH)
    assert bogus.status == 422
    filled = await client.patch(
        f"/api/v1/incidents/{incident_id}",
        json={**FIELDS, "affected_users": "约 3% 的支付请求"},
        headers=AUTH,
    )
    assert filled.status == 200
    for target, actor in (("in_review", "lisi"), ("approved", "wangwu")):
        moved = await client.post(url, json={"status": target}, headers={**AUTH, "X-Actor": actor})
        assert moved.status == 200
        assert (await moved.json())["status"] == target
    approved = await markdown(client, incident_id)
    assert approved.startswith("> **已批准（wangwu，")
    assert "**审核人**: wangwu（" in approved
    locked = await client.patch(
        f"/api/v1/incidents/{incident_id}", json={"owner": "x"}, headers=AUTH
    )
    assert locked.status == 409
    back = await client.post(url, json={"status": "in_review"}, headers=AUTH)
    assert back.status == 200
    assert (
        await client.patch(f"/api/v1/incidents/{incident_id}", json={"owner": "x"}, headers=AUTH)
    ).status == 200
    firing = await post_alerts(client, capture_text("firing_single"))
    refused = await client.post(
        f"/api/v1/incidents/{firing['incident_id']}/status",
        json={"status": "in_review"},
        headers=AUTH,
    )
    assert refused.status == 409


# -- pages, auth and CSRF ---------------------------------------------------------------------


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def log_in(client: TestClient[Any, Any], name: str = "zhangsan", secret: str = TOKEN) -> None:
    page = await client.get("/login")
    token = csrf_of(await page.text())
    response = await client.post(
        "/login",
        data={"csrf_token": token, "name": name, "secret": secret, "next": "/"},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()


async def test_pages_need_a_login_and_forms_need_csrf(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    anonymous = await client.get(f"/incidents/{incident_id}", allow_redirects=False)
    assert anonymous.status == 303
    assert anonymous.headers["Location"] == f"/login?next=/incidents/{incident_id}"
    assert "X-Request-Id" in anonymous.headers
    deep = await client.get(f"/incidents/{incident_id}/diff?from=1&to=2", allow_redirects=False)
    query = urllib.parse.urlsplit(deep.headers["Location"]).query
    assert urllib.parse.parse_qs(query)["next"] == [f"/incidents/{incident_id}/diff?from=1&to=2"]
    refused = await client.post(f"/incidents/{incident_id}/fields", data={"owner": "x"})
    assert refused.status == 401
    assert (await client.get("/api/v1/incidents")).status == 401

    page = await client.get("/login")
    wrong = await client.post(
        "/login",
        data={"csrf_token": csrf_of(await page.text()), "name": "mallory", "secret": "guess"},
    )
    assert wrong.status == 401
    no_csrf = await client.post("/login", data={"name": "zhangsan", "secret": TOKEN})
    assert no_csrf.status == 403

    await log_in(client)
    html = await (await client.get(f"/incidents/{incident_id}")).text()
    assert "zhangsan" in html
    forged = await client.post(
        f"/incidents/{incident_id}/fields", data={"root_cause_technical": "forged"}, headers=BROWSER
    )
    assert forged.status == 403
    # a page's 403 is a page for people, in the receiver's language (the API keeps JSON)
    assert forged.content_type == "text/html"
    assert "表单已过期或来源不对" in await forged.text()
    scripted = await client.post(
        f"/incidents/{incident_id}/fields", data={"root_cause_technical": "forged"}
    )
    assert scripted.status == 403
    assert (await scripted.json())["error"]  # a script that did not ask for HTML: JSON
    wrong_token = await client.post(
        f"/incidents/{incident_id}/fields", data={"csrf_token": "nope", "owner": "forged"}
    )
    assert wrong_token.status == 403
    assert "forged" not in await markdown(client, incident_id)

    form = {
        "csrf_token": csrf_of(html),
        "root_cause_technical": "连接池配置过小",
        "act-0-text": "扩大连接池",
        "act-0-owner": "lisi",
        "act-0-due": "2026-12-03",
        "act-0-horizon": "immediate",
        "act-1-text": "",
        "act-1-horizon": "short",
    }
    saved = await client.post(f"/incidents/{incident_id}/fields", data=form, allow_redirects=False)
    assert saved.status == 303
    page_after = await (await client.get(saved.headers["Location"])).text()
    assert "连接池配置过小" in page_after
    drafted = await markdown(client, incident_id)
    assert "- [ ] **扩大连接池**（负责人：lisi，截止：2026-12-03）" in drafted
    history = await (await client.get(f"/incidents/{incident_id}")).text()
    # the activity list says in words who changed what, and when (RECEIVER_TIMEZONE)
    assert re.search(
        r"<li>zhangsan 于 \d{4}-\d\d-\d\d \d\d:\d\d 修改了 根本原因 · 技术原因、行动计划</li>",
        history,
    )

    moved = await client.post(
        f"/incidents/{incident_id}/status",
        data={"csrf_token": csrf_of(history), "status": "in_review"},
        allow_redirects=False,
    )
    assert moved.status == 303
    diff = await client.get(f"/incidents/{incident_id}/diff?from=1&to=2")
    assert diff.status == 200
    compared = await diff.text()
    # side by side by section; within the changed line only the new words are marked
    assert "<ins>- **技术原因**: <mark>连接池</mark>配置<mark>过小</mark></ins>" in compared
    assert "zhangsan 保存人工填写的内容后生成" in compared
    assert "告警恢复后由系统生成" in compared
    download = await client.get(f"/incidents/{incident_id}/postmortem.md")
    assert download.headers["Content-Disposition"].startswith("attachment;")


async def test_list_page_filters_and_security_headers(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    await drafted_incident(client, clock)
    await post_alerts(client, capture_text("firing_single"))
    await log_in(client)
    listing = await client.get("/?status=drafted")
    html = await listing.text()
    assert "payments P99 延迟过高" in html
    assert "checkout" not in html
    assert "checkout 服务 5xx 错误率过高" in await (await client.get("/?service=checkout")).text()
    headers = listing.headers
    assert "script-src" not in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    css = await client.get("/static/style.css")
    assert css.status == 200
    assert "<script" not in html


async def test_hostile_alert_text_is_inert_in_page_and_literal_in_markdown(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    hostile = {
        "summary": "<script>alert(1)</script> {{ 7*7 }}",
        "description": "[click](javascript:alert(1)) <img src=x onerror=alert(1)>",
    }
    for name in ("firing_single", "resolved_single"):
        body = capture(name)
        body["alerts"][0]["annotations"].update(hostile)
        body["commonAnnotations"] = {}
        result = await post_alerts(client, json.dumps(body))
        clock.advance(seconds=5)
    incident_id = result["incident_id"]
    text = await markdown(client, incident_id)
    assert "\\<script\\>alert(1)\\</script\\> {{ 7\\*7 }}" in text
    assert "49" not in text
    await log_in(client)
    html = await (await client.get(f"/incidents/{incident_id}")).text()
    article = html.split('<article class="markdown">', 1)[1].split("</article>", 1)[0]
    assert "<script" not in article
    assert "<img" not in article
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }}" in article
    assert 'href="javascript:' not in html
    assert "<script" not in html


async def test_no_credentials_configured_asks_only_a_name(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    client = await aiohttp_client(create_app(make_settings(reconcile_interval=0)))
    page = await (await client.get("/login")).text()
    assert 'name="secret"' not in page
    await log_in(client, name="lisi", secret="")
    assert "lisi" in await (await client.get("/")).text()


async def test_trusted_proxy_header_names_the_user(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    settings = make_settings(
        auth_token=TOKEN, trusted_proxy_header="X-Forwarded-User", reconcile_interval=0
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    incident_id = await drafted_incident(client, clock)
    proxied = {"X-Forwarded-User": "alice@example.com"}
    html = await (await client.get(f"/incidents/{incident_id}", headers=proxied)).text()
    assert "alice@example.com" in html
    saved = await client.post(
        f"/incidents/{incident_id}/fields",
        headers=proxied,
        data={"csrf_token": csrf_of(html), "owner": "alice"},
        allow_redirects=False,
    )
    assert saved.status == 303
    revisions = await (
        await client.get(f"/api/v1/incidents/{incident_id}/revisions", headers=proxied)
    ).json()
    assert revisions["revisions"][-1]["created_by"] == "alice@example.com"
    # without the header (and without a token) the API still refuses
    assert (await client.get("/api/v1/incidents")).status == 401


async def test_the_page_names_where_an_estimated_end_comes_from(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    from receiver.alertmanager.silences import Silence
    from receiver.evidence.promql import expression_from_generator_url
    from receiver.evidence.record import Breach, ChartEvidence, EvidenceRecord
    from receiver.usecases.reconcile import AlertmanagerView
    from receiver.web.keys import SERVICE

    # evidence on, from a Prometheus that is not there: its one failed try is waited for
    settings = make_settings(
        auth_token=TOKEN, reconcile_interval=0, prometheus_url="http://127.0.0.1:9"
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    service = client.app[SERVICE]
    firing = capture("firing_group_3")
    start = datetime.fromisoformat(firing["alerts"][0]["startsAt"].replace("Z", "+00:00"))
    fingerprints = {a["fingerprint"] for a in firing["alerts"]}
    incident_id = int((await post_alerts(client, json.dumps(firing)))["incident_id"])
    silence = Silence.model_validate(
        {
            "id": "5f3c2a",
            "status": {"state": "active"},
            "createdBy": "zhangsan",
            "comment": "",
            "startsAt": start + timedelta(minutes=2),
            "endsAt": start + timedelta(hours=1),
            "matchers": [{"name": "service", "value": "payments"}],
        }
    )
    clock.now = start + timedelta(minutes=3)
    await service.reconcile.apply_alertmanager_view(
        incident_id, AlertmanagerView([silence], fingerprints, clock.now)
    )
    clock.now = start + timedelta(minutes=40)
    await service.reconcile.apply_alertmanager_view(
        incident_id, AlertmanagerView([silence], set(), clock.now)
    )
    await log_in(client)

    async def duration() -> str:
        html = await (await client.get(f"/incidents/{incident_id}")).text()
        found = re.search(r"<span>持续: (.*?)</span></span>", html)
        assert found, html
        return re.sub(r"<[^>]+>", "", found.group(1))

    assert await duration() == "约 0h 40m（结束时间为对账发现的上限）"
    for _ in range(200):  # the worker's one try at Prometheus; not due again on this clock
        async with service.db.read() as repo:
            tried = await repo.evidence.of(incident_id)
        if tried is not None and tried.attempts:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the evidence worker never tried")
    expr = expression_from_generator_url(firing["alerts"][0]["generatorURL"]) or ""
    back = [[Breach(start, start + timedelta(minutes=33))]]
    chart = ChartEvidence(expr, "q", "> 1", svg="<svg/>", series=3, breaches=back)
    record = EvidenceRecord(clock.now, start, clock.now, "http://127.0.0.1:9", [chart])
    await service.evidence.store(incident_id, record, 1)
    assert await duration() == "约 0h 33m（结束时间来自 Prometheus 监控证据）"
