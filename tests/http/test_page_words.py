"""What people read on the pages is in the receiver's language: 404 and 403 as pages (the
API keeps JSON), the login form's refusals, a refused form's problems field by field, the
activity list as sentences, the due dates as yyyy-mm-dd."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from receiver.web.keys import SETTINGS
from tests.conftest import Clock
from tests.http.test_review import AUTH, BROWSER, TOKEN, csrf_of, drafted_incident, log_in

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


@pytest.fixture(params=["zh", "en"])
async def client(
    request: pytest.FixtureRequest,
    aiohttp_client: ClientFactory,
    make_settings: Callable[..., Settings],
    clock: Clock,
) -> TestClient[Any, Any]:
    settings = make_settings(auth_token=TOKEN, reconcile_interval=0, language=request.param)
    return await aiohttp_client(create_app(settings, clock=clock))


def words(client: TestClient[Any, Any], zh: str, en: str) -> str:
    """The text the page shows in the client's receiver's language."""
    return zh if client.app[SETTINGS].language == "zh" else en


async def test_missing_pages_are_pages_and_the_api_stays_json(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    await log_in(client)
    for path, message in (
        ("/incidents/999", words(client, "没有编号为 999 的事故", "There is no incident 999")),
        (
            f"/incidents/{incident_id}/diff?from=1&to=9",
            words(
                client, f"没有编号为 {incident_id} 的事故，或它没有所请求的修订", "no such revision"
            ),
        ),
        ("/no/such/page", words(client, "没有这个页面。", "There is no such page.")),
    ):
        response = await client.get(path, headers=BROWSER)
        assert response.status == 404, path
        assert response.content_type == "text/html", path
        html = await response.text()
        assert message in html, path
        assert words(client, "404 · 找不到页面", "404 · Page not found") in html
        assert '<a href="/">' in html  # the way back
        assert "<script" not in html
        assert "Content-Security-Policy" in response.headers
    api = await client.get("/api/v1/incidents/999", headers=AUTH)
    assert api.status == 404
    assert (await api.json())["error"] == "not_found"
    unknown_api = await client.get("/api/v1/nope", headers=AUTH)
    assert (await unknown_api.json())["error"] == "not_found"


async def test_a_stale_form_is_a_page_saying_so(client: TestClient[Any, Any], clock: Clock) -> None:
    incident_id = await drafted_incident(client, clock)
    await log_in(client)
    forged = await client.post(
        f"/incidents/{incident_id}/status", data={"status": "in_review"}, headers=BROWSER
    )
    assert forged.status == 403
    assert forged.content_type == "text/html"
    html = await forged.text()
    assert words(client, "表单已过期或来源不对", "The form is stale") in html
    assert words(client, "403 · 请求被拒绝", "403 · Refused") in html
    api = await client.post(
        f"/api/v1/incidents/{incident_id}/status", json={"status": "bogus"}, headers=AUTH
    )
    assert api.content_type == "application/json"


async def test_login_refusals_in_the_receivers_language(client: TestClient[Any, Any]) -> None:
    page = await client.get("/login")
    form = await page.text()
    assert "novalidate" in form  # the browser's own bubbles would speak its language
    token = csrf_of(form)
    cases = (
        (
            {"name": "mallory", "secret": "guess"},
            401,
            words(client, "名字、令牌或密码不对", "not valid"),
        ),
        (
            {"name": "", "secret": ""},
            401,
            words(client, "请填写名字和令牌或密码", "Name and token"),
        ),
    )
    for data, status, message in cases:
        refused = await client.post("/login", data={"csrf_token": token, **data}, headers=BROWSER)
        assert refused.status == status
        html = await refused.text()
        assert message in html
        assert 'role="alert"' in html
        assert 'name="secret"' in html  # the form again, to try once more
    stale = await client.post(
        "/login",
        data={"csrf_token": "stale", "name": "zhangsan", "secret": TOKEN},
        headers=BROWSER,
    )
    assert stale.status == 403
    html = await stale.text()
    assert words(client, "登录表单已过期", "The login form had expired") in html
    fresh = csrf_of(html)
    # the page it answered with logs in
    again = await client.post(
        "/login",
        data={"csrf_token": fresh, "name": "zhangsan", "secret": TOKEN, "next": "/"},
        allow_redirects=False,
    )
    assert again.status == 303
    # a script that did not ask for a page gets the same words as a JSON error
    scripted = await client.post("/login", data={"csrf_token": "stale", "name": "z"})
    assert scripted.status == 403
    assert (
        words(client, "登录表单已过期", "The login form had expired")
        in (await scripted.json())["message"]
    )


async def test_a_bad_due_date_is_named_in_words(client: TestClient[Any, Any], clock: Clock) -> None:
    incident_id = await drafted_incident(client, clock)
    await log_in(client)
    html = await (await client.get(f"/incidents/{incident_id}")).text()
    due = re.search(r'<input type="text"[^>]*name="act-0-due"[^>]*>', html)
    assert due, "the due date is a text input"
    assert 'placeholder="yyyy-mm-dd"' in due.group(0)
    assert 'pattern="\\d{4}-\\d{2}-\\d{2}"' in due.group(0)
    refused = await client.post(
        f"/incidents/{incident_id}/fields",
        data={
            "csrf_token": csrf_of(html),
            "act-0-text": "扩大连接池",
            "act-0-due": "12/03/2026",
            "act-0-horizon": "immediate",
        },
    )
    assert refused.status == 422
    page = await refused.text()
    assert (
        words(
            client,
            "行动计划 第 1 项 · 截止日期：日期格式应为 yyyy-mm-dd",
            "Action plan item 1 · Due: a date is written yyyy-mm-dd",
        )
        in page
    )
    assert "Input should be" not in page
    assert 'value="12/03/2026"' in page  # what was sent, shown again to correct


async def test_the_activity_list_says_who_did_what(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    incident_id = await drafted_incident(client, clock)
    await log_in(client, name="lisi")
    html = await (await client.get(f"/incidents/{incident_id}")).text()
    saved = await client.post(
        f"/incidents/{incident_id}/fields",
        data={"csrf_token": csrf_of(html), "direct_cause": "连接池耗尽", "owner": "lisi"},
        allow_redirects=False,
    )
    assert saved.status == 303
    for target, extra in (("in_review", {}), ("approved", {"override_reason": "周末先批"})):
        moved = await client.post(
            f"/incidents/{incident_id}/status",
            data={"csrf_token": csrf_of(html), "status": target, **extra},
            allow_redirects=False,
        )
        assert moved.status == 303, await moved.text()
    page = await (await client.get(f"/incidents/{incident_id}")).text()
    sentences = re.findall(r"<li>(lisi [^<]*)</li>", page)
    when = r"\d{4}-\d\d-\d\d \d\d:\d\d"
    expected = (
        [
            rf"lisi 于 {when} 修改了 负责人、直接原因",
            rf"lisi 于 {when} 提交审阅",
            rf"lisi 于 {when} 在必填项未填全时批准，理由：周末先批",
        ]
        if words(client, "zh", "en") == "zh"
        else [
            rf"lisi changed Owner, Immediate cause at {when}",
            rf"lisi sent it to review at {when}",
            rf"lisi approved with required parts empty at {when}; reason: 周末先批",
        ]
    )
    assert len(sentences) == len(expected), sentences
    for sentence, pattern in zip(sentences, expected, strict=True):
        assert re.fullmatch(pattern, sentence), sentence
