"""A real browser on the review pages: Debian's headless Chromium, driven by Playwright.

A real receiver process gets real Alertmanager captures over loopback; the browser logs
in, opens the incident from the list, fills the root cause and an action item, saves,
sends the postmortem to review, approves it and downloads the Markdown. The pages carry
no JavaScript, so everything goes through plain links and forms, as a person's would.

A second incident made from alert text with markup, template syntax and a javascript:
link checks that the page shows such text literally and runs nothing.

Screenshots are saved to $RECEIVER_TEST_ARTIFACTS (else the test's tmp_path) and their
paths printed (pytest -s shows them).
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import capture, capture_text
from tests.inbox import applied
from tests.processes import AUTH, LOOPBACK, TOKEN, Service, get_json, start_receiver

try:
    from playwright.async_api import (
        Browser,
        Dialog,
        Page,
        Route,
        async_playwright,
        expect,
    )
except ImportError:  # the test is skipped below, before anything uses these names
    HAVE_PLAYWRIGHT = False
else:
    HAVE_PLAYWRIGHT = True

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000
USER = "zhangsan"
# the longest shared prefix of the group's three summaries "payments P99 延迟过高 (10.0.2.1x)"
TITLE = "payments P99 延迟过高"
ROOT_CAUSE = "连接池配置过小"
DIRECT_CAUSE = "支付服务数据库连接池耗尽，请求排队导致 P99 延迟升高"
ACTION = "扩大连接池并加告警"
ACTION_OWNER = "lisi"
ACTION_DUE = "2026-12-03"

# alert text that must stay text: markup, template syntax, a javascript: link
SCRIPT = "<script>window.__pwned=1</script>"
TEMPLATE = "{{ 7*7 }}"
JS_LINK = "[x](javascript:alert(1))"
HOSTILE_ANNOTATIONS = {
    "summary": f"checkout {SCRIPT} {TEMPLATE} {JS_LINK}",
    "description": f"见 {JS_LINK}；{SCRIPT} 模板 {TEMPLATE} 不应被求值。",
    "runbook_url": "javascript:alert(1)",
}


def require_browser() -> None:
    """Skip, with how to install it, when Chromium or the playwright package is missing."""
    if not HAVE_PLAYWRIGHT:
        pytest.skip(
            "the browser test needs the playwright Python package "
            "(pip install playwright; no browser download: it drives /usr/bin/chromium)"
        )
    if not CHROMIUM.is_file():
        pytest.skip(
            f"the browser test drives Debian's Chromium, and {CHROMIUM} is missing "
            "(Debian: apt install chromium)"
        )


def artifacts_dir(tmp_path: Path) -> Path:
    configured = os.environ.get("RECEIVER_TEST_ARTIFACTS")
    directory = Path(configured) if configured else tmp_path
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def hostile(name: str) -> str:
    """A real capture with its annotations replaced by hostile text (same alert identity)."""
    body = copy.deepcopy(capture(name))
    for alert in body["alerts"]:
        alert["annotations"] = dict(HOSTILE_ANNOTATIONS)
    body["commonAnnotations"] = dict(HOSTILE_ANNOTATIONS)
    return json.dumps(body, ensure_ascii=False)


async def post_webhook(http: aiohttp.ClientSession, receiver: Service, body: str) -> int:
    url = f"{receiver.base_url}/api/v1/alerts"
    headers = {**AUTH, "Content-Type": "application/json"}
    async with http.post(url, data=body.encode(), headers=headers) as response:
        text = await response.text()
        assert response.status == 202, f"POST {url}: {response.status} {text}"
    result = await applied(http, json.loads(text), base=receiver.base_url, headers=AUTH)
    incident_id = result["incident_id"]
    assert isinstance(incident_id, int)
    return incident_id


async def new_page(browser: Browser, receiver: Service, problems: list[str]) -> Page:
    """A page that may only reach the receiver, with bounded waits; any dialog, script
    error or request elsewhere is recorded in `problems`, which the test asserts empty."""
    context = await browser.new_context(
        base_url=receiver.base_url,
        accept_downloads=True,
        locale="zh-CN",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)

    async def loopback_only(route: Route) -> None:
        if route.request.url.startswith(receiver.base_url + "/"):
            await route.continue_()
        else:
            problems.append(f"request outside the receiver: {route.request.url}")
            await route.abort()

    await context.route("**/*", loopback_only)
    page = await context.new_page()

    async def on_dialog(dialog: Dialog) -> None:
        problems.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return page


async def test_review_in_a_real_browser(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    require_browser()
    receiver, _ = start_receiver(
        request,
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'r.db'}",
        extra_env={"RECEIVER_LANGUAGE": "zh", "RECEIVER_TIMEZONE": "Asia/Shanghai"},
    )
    assert receiver.base_url.startswith(f"http://{LOOPBACK}:")
    artifacts = artifacts_dir(tmp_path)
    problems: list[str] = []  # dialogs, script errors, requests that left the receiver

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        assert await post_webhook(http, receiver, capture_text("firing_group_3")) == 1
        assert await post_webhook(http, receiver, capture_text("resolved_group_3")) == 1
        hostile_id = await post_webhook(http, receiver, hostile("firing_single"))
        assert await post_webhook(http, receiver, hostile("resolved_single")) == hostile_id
        assert hostile_id != 1

        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
            )
            try:
                page = await new_page(browser, receiver, problems)
                await log_in(page, receiver)
                await list_page(page, artifacts)
                await hostile_page(page, hostile_id, artifacts)
                assert problems == []
                downloaded = await review_incident(page, artifacts)
            finally:
                await browser.close()

        revisions = await get_json(http, f"{receiver.base_url}/api/v1/incidents/1/revisions")

    assert problems == []
    assert [r["revision"] for r in revisions["revisions"]] == [1, 2]
    assert [r["created_by"] for r in revisions["revisions"]] == [None, USER]

    assert f"- **技术原因**: {ROOT_CAUSE}" in downloaded
    assert DIRECT_CAUSE in downloaded
    short_term = downloaded.split("### 短期行动 (1 个月内)", 1)[1].split("\n### ", 1)[0]
    item = f"- [ ] **{ACTION}**（负责人：{ACTION_OWNER}，截止：{ACTION_DUE}）"
    assert item in short_term
    assert item not in downloaded.replace(short_term, "")
    assert f"**审核人**: {USER}（" in downloaded
    assert f"已批准（{USER}，" in downloaded
    assert "· 修订 2 ·" in downloaded
    assert "**文档版本**: 草稿修订 2（" in downloaded


async def log_in(page: Page, receiver: Service) -> None:
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    await expect(page.get_by_role("heading", name="登录")).to_be_visible()
    await page.locator('input[name="name"]').fill(USER)
    await page.locator('input[name="secret"]').fill(TOKEN)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(f"{receiver.base_url}/")
    await expect(page.locator("header .who")).to_have_text(USER)


async def list_page(page: Page, artifacts: Path) -> None:
    await expect(page.get_by_role("heading", name="事故列表")).to_be_visible()
    row = page.locator("table.incidents tbody tr").filter(
        has=page.locator("td:first-child", has_text=re.compile(r"^1$"))
    )
    await expect(row).to_have_count(1)
    await expect(row.locator("td").nth(1)).to_contain_text(TITLE)
    await expect(row.locator("td").nth(3)).to_have_text("payments")
    await expect(row.locator(".status")).to_have_text("草稿")
    screenshot = artifacts / "incident-list.png"
    await page.screenshot(path=str(screenshot), full_page=True)
    print(f"\nscreenshot of the incident list: {screenshot}")


async def hostile_page(page: Page, incident_id: int, artifacts: Path) -> None:
    """Alert text with markup, template syntax and a javascript: link stays inert text."""
    await page.goto(f"/incidents/{incident_id}")
    article = page.locator("article.markdown")
    await expect(article).to_contain_text(SCRIPT)
    assert await page.evaluate("window.__pwned") is None
    assert await page.locator("script").count() == 0
    assert await page.locator("article.markdown script").count() == 0
    # the literal text is on screen, not markup and not a template's output ("49")
    summary = HOSTILE_ANNOTATIONS["summary"]
    await expect(page.locator(".heading h1")).to_have_text(f"#{incident_id} {summary}")
    await expect(article.locator("h1")).to_have_text(f"事故后分析：{summary}")
    await expect(article).to_contain_text(HOSTILE_ANNOTATIONS["description"])
    body_text = await page.locator("body").inner_text()
    assert SCRIPT in body_text
    assert TEMPLATE in body_text
    assert JS_LINK in body_text
    hrefs = await page.locator("a[href]").evaluate_all(
        "anchors => anchors.map(a => a.getAttribute('href'))"
    )
    assert hrefs, "the page has links (navigation, revisions, download)"
    dangerous = [h for h in hrefs if re.match(r"\s*(javascript|vbscript|data):", h, re.I)]
    assert dangerous == []
    assert await page.locator("article.markdown a[href^='javascript:' i]").count() == 0
    assert await page.evaluate("window.__pwned") is None
    screenshot = artifacts / "incident-hostile.png"
    await page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot of the incident with hostile alert text: {screenshot}")


async def review_incident(page: Page, artifacts: Path) -> str:
    """Open #1 from the list, fill, save, review, approve, download: the Markdown text."""
    await page.goto("/")
    await (
        page.locator("table.incidents tbody tr")
        .filter(has_text=TITLE)
        .get_by_role("link", name=re.compile(re.escape(TITLE)))
        .click()
    )
    await expect(page).to_have_url(re.compile(r"/incidents/1$"))
    await expect(page.locator(".heading h1")).to_contain_text(TITLE)
    await expect(page.locator("section.draft > h2")).to_contain_text("修订 1")
    article = page.locator("article.markdown")
    await expect(article).not_to_contain_text(ROOT_CAUSE)

    form = page.locator("form.fields")
    await form.locator('textarea[name="root_cause_technical"]').fill(ROOT_CAUSE)
    await form.locator('textarea[name="direct_cause"]').fill(DIRECT_CAUSE)
    # approval needs an owner and who was affected too (RECEIVER_APPROVAL_REQUIRED)
    await form.locator('input[name="owner"]').fill(USER)
    await form.locator('input[name="affected_users"]').fill("约 3% 的支付请求")
    await form.locator('input[name="act-0-text"]').fill(ACTION)
    await form.locator('input[name="act-0-owner"]').fill(ACTION_OWNER)
    await form.locator('input[name="act-0-due"]').fill(ACTION_DUE)
    await form.locator('select[name="act-0-horizon"]').select_option("short")
    await form.get_by_role("button", name="保存并重新生成草稿").click()

    await expect(page).to_have_url(re.compile(r"/incidents/1\?saved=1$"))
    await expect(page.locator('p.ok[role="status"]')).to_have_text("已保存。")
    await expect(page.locator("section.draft > h2")).to_contain_text("修订 2")
    await expect(article).to_contain_text(f"技术原因: {ROOT_CAUSE}")
    await expect(article).to_contain_text(DIRECT_CAUSE)
    await expect(article.locator("li", has_text=ACTION)).to_contain_text(
        f"（负责人：{ACTION_OWNER}，截止：{ACTION_DUE}）"
    )
    # the form shows what was saved
    await expect(form.locator('textarea[name="root_cause_technical"]')).to_have_value(ROOT_CAUSE)
    await expect(form.locator('input[name="act-0-due"]')).to_have_value(ACTION_DUE)
    await expect(form.locator('select[name="act-0-horizon"]')).to_have_value("short")

    status = page.locator(".heading .meta .status")
    await page.get_by_role("button", name="提交审阅").click()
    await expect(status).to_have_text("审阅中")
    await page.get_by_role("button", name="批准").click()
    await expect(status).to_have_text("已批准")
    await expect(page.locator(".heading .meta")).to_contain_text(f"批准人: {USER}")
    await expect(article).to_contain_text(f"已批准（{USER}，")
    await expect(page.locator("section.draft > h2")).to_contain_text("修订 2")
    # approved: the fieldset is disabled, so are its controls, and the page says why
    await expect(page.locator("form.fields fieldset[disabled]")).to_have_count(1)
    await expect(form.locator('textarea[name="root_cause_technical"]')).to_be_disabled()
    await expect(form.get_by_role("button", name="保存并重新生成草稿")).to_be_disabled()
    await expect(page.get_by_role("button", name="退回审阅")).to_be_visible()

    screenshot = artifacts / "incident-page.png"
    await page.screenshot(path=str(screenshot), full_page=True)
    print(f"\nscreenshot of the approved incident page: {screenshot}")

    link = page.get_by_role("link", name="下载 Markdown")
    await expect(link).to_have_attribute("download", "")
    await expect(link).to_have_attribute("href", "/incidents/1/postmortem.md?revision=2")
    async with page.expect_download(timeout=TIMEOUT_MS) as info:
        await link.click()
    download = await info.value
    assert download.url.endswith("/incidents/1/postmortem.md?revision=2")
    assert re.fullmatch(
        r"\d{4}-\d{2}-\d{2}-1-payments-highlatencyp99\.md", download.suggested_filename
    ), download.suggested_filename
    failure = await download.failure()
    assert failure is None, failure
    saved = artifacts / download.suggested_filename
    await download.save_as(saved)
    print(f"downloaded postmortem: {saved}")
    return saved.read_text(encoding="utf-8")
