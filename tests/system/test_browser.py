"""A real browser on the review pages: Debian's headless Chromium, driven by Playwright.

A real receiver process gets real Alertmanager captures over loopback, and the reports
of what people did while the alerts fired; the browser logs in, opens the incident from
the list, finds the sections' forms prefilled with what those reports suggest (marked as
such), fills the root cause, an action item and the rest section by section, saving each,
sees the suggestion marks gone, sends the
postmortem to review, approves it and downloads the Markdown. The pages carry
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
        Locator,
        Page,
        Playwright,
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
# reported while the alerts fired (the group starts at 19:11:48Z, resolves at 19:11:51Z)
EVENTS = (
    {"type": "ack", "actor": "lisi", "message": "确认 P2", "at": "2026-11-26T19:11:49Z"},
    {
        "type": "rollback",
        "actor": "wangwu",
        "message": "回滚 payments-api 到 v2.31.4",
        "at": "2026-11-26T19:11:50Z",
    },
    {
        "type": "root-cause",
        "actor": "zhangsan",
        "message": "连接池从 50 调到 5",
        "at": "2026-11-26T19:11:51Z",
    },
)
# the rollback as the form suggests it, at Asia/Shanghai time
CONTAINMENT = "回滚 payments-api 到 v2.31.4（wangwu 于 03:11:50 上报）"
SUGGESTION_MARK = "建议，待确认 — 来自时间线"

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


def start_review_receiver(request: pytest.FixtureRequest, tmp_path: Path) -> Service:
    """A receiver as the browser tests review it: SQLite, Chinese, Asia/Shanghai."""
    require_browser()
    receiver, _ = start_receiver(
        request,
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'r.db'}",
        extra_env={"RECEIVER_LANGUAGE": "zh", "RECEIVER_TIMEZONE": "Asia/Shanghai"},
    )
    return receiver


async def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, as every browser test drives it."""
    return await playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
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


async def post_event(http: aiohttp.ClientSession, receiver: Service, event: dict[str, str]) -> int:
    url = f"{receiver.base_url}/api/v1/events"
    async with http.post(url, json=event, headers=AUTH) as response:
        text = await response.text()
        assert response.status in (200, 201), f"POST {url}: {response.status} {text}"
        incident_id = json.loads(text)["incident_id"]
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
    receiver = start_review_receiver(request, tmp_path)
    assert receiver.base_url.startswith(f"http://{LOOPBACK}:")
    artifacts = artifacts_dir(tmp_path)
    problems: list[str] = []  # dialogs, script errors, requests that left the receiver

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        assert await post_webhook(http, receiver, capture_text("firing_group_3")) == 1
        for event in EVENTS:
            assert await post_event(http, receiver, {**event, "service": "payments"}) == 1
        assert await post_webhook(http, receiver, capture_text("resolved_group_3")) == 1
        hostile_id = await post_webhook(http, receiver, hostile("firing_single"))
        assert await post_webhook(http, receiver, hostile("resolved_single")) == hostile_id
        assert hostile_id != 1

        async with async_playwright() as p:
            browser = await launch_chromium(p)
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
    # one revision per section saved
    assert [r["revision"] for r in revisions["revisions"]] == list(range(1, 8))
    assert [r["created_by"] for r in revisions["revisions"]] == [None] + [USER] * 6

    assert f"- **技术原因**: {ROOT_CAUSE}" in downloaded
    assert DIRECT_CAUSE in downloaded
    short_term = downloaded.split("### 短期行动 (1 个月内)", 1)[1].split("\n### ", 1)[0]
    item = f"- [ ] **{ACTION}**（负责人：{ACTION_OWNER}，截止：{ACTION_DUE}）"
    assert item in short_term
    assert item not in downloaded.replace(short_term, "")
    assert f"**审核人**: {USER}（" in downloaded
    assert f"已批准（{USER}，" in downloaded
    assert "· 修订 7 ·" in downloaded
    assert "**文档版本**: 草稿修订 7（" in downloaded


async def open_section(page: Page, key: str) -> Locator:
    """Open a section's edit control (a <details>, no script): its form."""
    details = page.locator(f"#section-{key}")
    if await details.get_attribute("open") is None:
        await details.locator("summary").click()
    form = details.locator("form")
    await expect(form).to_be_visible()
    return form


async def save_section(
    page: Page, key: str, values: dict[str, str], choices: dict[str, str] | None = None
) -> None:
    """Fill one section's form and save it: the page comes back at that section."""
    form = await open_section(page, key)
    for name, value in values.items():
        await form.locator(f'[name="{name}"]').fill(value)
    for name, value in (choices or {}).items():
        await form.locator(f'select[name="{name}"]').select_option(value)
    await form.get_by_role("button", name="保存本节").click()
    await expect(page).to_have_url(re.compile(rf"\?saved=1#section-{key}$"))


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

    # what the reports suggest comes prefilled in its section's form, marked as a
    # suggestion, and is not saved yet
    suggestion_marks = page.locator(".section-edit .suggestion")
    # owner, participants, direct cause, containment; the direct cause is edited below
    await expect(suggestion_marks).to_have_count(4)
    containment_form = await open_section(page, "containment")
    containment = containment_form.locator('textarea[name="containment"]')
    await expect(containment).to_be_visible()
    await expect(containment).to_have_value(CONTAINMENT)
    await expect(
        containment_form.locator("label", has=page.locator('textarea[name="containment"]')).locator(
            ".suggestion"
        )
    ).to_have_text(SUGGESTION_MARK)
    await expect(page.locator('#section-overview input[name="participants"]')).to_have_value(
        "lisi、wangwu、zhangsan"
    )
    screenshot = artifacts / "incident-form-suggestions.png"
    await containment_form.screenshot(path=str(screenshot))
    print(f"\nscreenshot of a section's form with its suggestions: {screenshot}")

    await save_section(page, "root_cause", {"root_cause_technical": ROOT_CAUSE})
    await save_section(page, "direct_cause", {"direct_cause": DIRECT_CAUSE})
    # approval needs an owner and who was affected too (RECEIVER_APPROVAL_REQUIRED)
    await save_section(page, "overview", {"owner": USER})
    await save_section(page, "impact", {"affected_users": "约 3% 的支付请求"})
    await save_section(
        page,
        "actions",
        {"act-0-text": ACTION, "act-0-owner": ACTION_OWNER, "act-0-due": ACTION_DUE},
        {"act-0-horizon": "short"},
    )
    await save_section(page, "containment", {})  # the suggestion confirmed as it stands

    await expect(page.locator('p.ok[role="status"]')).to_have_text("已保存。")
    await expect(page.locator("section.draft > h2")).to_contain_text("修订 7")
    await expect(article).to_contain_text(f"技术原因: {ROOT_CAUSE}")
    await expect(article).to_contain_text(DIRECT_CAUSE)
    await expect(article.locator("li", has_text=ACTION)).to_contain_text(
        f"（负责人：{ACTION_OWNER}，截止：{ACTION_DUE}）"
    )
    # the suggestions saved as they stood are the person's now: no longer marked
    await expect(suggestion_marks).to_have_count(0)
    await expect(containment).to_have_value(CONTAINMENT)
    await expect(article).to_contain_text(CONTAINMENT)
    # the forms show what was saved
    await expect(page.locator('textarea[name="root_cause_technical"]')).to_have_value(ROOT_CAUSE)
    await expect(page.locator('input[name="act-0-due"]')).to_have_value(ACTION_DUE)
    await expect(page.locator('select[name="act-0-horizon"]')).to_have_value("short")

    status = page.locator(".heading .meta .status")
    await page.get_by_role("button", name="提交审阅").click()
    await expect(status).to_have_text("审阅中")
    await page.get_by_role("button", name="批准").click()
    await expect(status).to_have_text("已批准")
    await expect(page.locator(".heading .meta")).to_contain_text(f"批准人: {USER}")
    await expect(article).to_contain_text(f"已批准（{USER}，")
    await expect(page.locator("section.draft > h2")).to_contain_text("修订 7")
    # approved: no section offers editing, and the page says why
    await expect(page.locator(".section-edit")).to_have_count(0)
    await expect(page.get_by_text("已批准的复盘不能修改；请先退回审阅。")).to_be_visible()
    await expect(page.get_by_role("button", name="退回审阅")).to_be_visible()

    screenshot = artifacts / "incident-page.png"
    await page.screenshot(path=str(screenshot), full_page=True)
    print(f"\nscreenshot of the approved incident page: {screenshot}")

    link = page.get_by_role("link", name="下载 Markdown")
    await expect(link).to_have_attribute("download", "")
    await expect(link).to_have_attribute("href", "/incidents/1/postmortem.md?revision=7")
    async with page.expect_download(timeout=TIMEOUT_MS) as info:
        await link.click()
    download = await info.value
    assert download.url.endswith("/incidents/1/postmortem.md?revision=7")
    assert re.fullmatch(
        r"\d{4}-\d{2}-\d{2}-1-payments-highlatencyp99\.md", download.suggested_filename
    ), download.suggested_filename
    failure = await download.failure()
    assert failure is None, failure
    saved = artifacts / download.suggested_filename
    await download.save_as(saved)
    print(f"downloaded postmortem: {saved}")
    return saved.read_text(encoding="utf-8")
