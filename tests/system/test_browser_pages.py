"""The reading pages in Debian's Chromium: login refusals in Chinese, the list as cards on
a phone with no horizontal scroll, the diff page marking a one-character change, task
items as checkboxes, due dates as yyyy-mm-dd, and a Chinese 404 page.

A real receiver process (RECEIVER_LANGUAGE=zh) gets real Alertmanager captures over
loopback; two saves through the API, by lisi, change one character of 直接原因. The
screenshots the README shows (docs/list-page.png, list-phone.png, diff-page.png,
diff-phone.png) are saved to $RECEIVER_TEST_ARTIFACTS (else the test's tmp_path).
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import capture_text
from tests.processes import AUTH, TOKEN, Service
from tests.system.test_browser import (
    USER,
    artifacts_dir,
    launch_chromium,
    new_page,
    post_webhook,
    start_review_receiver,
)

with contextlib.suppress(ImportError):  # without it, require_browser() skips first
    from playwright.async_api import Page, ViewportSize, async_playwright, expect

BEFORE = "支付服务数据库连接池耗尽，请求排队导致 P99 延迟升高"
AFTER = "支付服务数据库连接数耗尽，请求排队导致 P99 延迟升高"  # 池 → 数
EDITOR = "lisi"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


async def save_fields(
    http: aiohttp.ClientSession, receiver: Service, fields: dict[str, object]
) -> None:
    async with http.patch(
        f"{receiver.base_url}/api/v1/incidents/1",
        json=fields,
        headers={**AUTH, "X-Actor": EDITOR},
    ) as response:
        assert response.status == 200, await response.text()


async def test_reading_pages_in_a_real_browser(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    receiver = start_review_receiver(request, tmp_path)
    artifacts = artifacts_dir(tmp_path)
    problems: list[str] = []

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        assert await post_webhook(http, receiver, capture_text("firing_group_3")) == 1
        assert await post_webhook(http, receiver, capture_text("resolved_group_3")) == 1
        for name in ("firing_single", "order_mixed_jobs"):  # more rows for the list
            await post_webhook(http, receiver, capture_text(name))
        action = {"text": "扩大连接池并加告警", "owner": "lisi", "due": "2026-12-03"}
        await save_fields(http, receiver, {"direct_cause": BEFORE, "actions": [action]})
        await save_fields(http, receiver, {"direct_cause": AFTER})  # revision 3

        async with async_playwright() as p:
            browser = await launch_chromium(p)
            try:
                page = await new_page(browser, receiver, problems)
                await login_refusals_in_chinese(page, receiver)
                await list_on_desktop_and_phone(page, artifacts)
                await incident_page_details(page)
                await diff_marks_one_character(page, artifacts)
                await missing_incident_is_a_chinese_page(page)
            finally:
                await browser.close()

    assert problems == []


async def no_horizontal_scroll(page: Page) -> None:
    widths = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"scrolls sideways: {widths}"


async def shot(page: Page, artifacts: Path, name: str) -> None:
    path = artifacts / name
    await page.screenshot(path=str(path), full_page=True)
    print(f"\nscreenshot: {path}")


async def login_refusals_in_chinese(page: Page, receiver: Service) -> None:
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    button = page.get_by_role("button", name="登录")
    await button.click()  # nothing filled: the receiver answers, not the browser
    await expect(page.locator('p.error[role="alert"]')).to_have_text("请填写名字和令牌或密码。")
    await page.locator('input[name="name"]').fill(USER)
    await page.locator('input[name="secret"]').fill("wrong")
    await button.click()
    await expect(page.locator('p.error[role="alert"]')).to_have_text("名字、令牌或密码不对。")
    await page.locator('input[name="name"]').fill(USER)
    await page.locator('input[name="secret"]').fill(TOKEN)
    await button.click()
    await expect(page).to_have_url(f"{receiver.base_url}/")
    await expect(page.locator("header .who")).to_have_text(USER)


async def list_on_desktop_and_phone(page: Page, artifacts: Path) -> None:
    await page.goto("/")
    rows = page.locator("table.incidents tbody tr")
    await expect(rows).to_have_count(3)
    await expect(page.locator("table.incidents thead")).to_be_visible()
    await shot(page, artifacts, "list-page.png")

    await page.set_viewport_size(PHONE)
    await page.goto("/")
    await expect(page.locator("table.incidents thead")).to_be_hidden()
    card = rows.filter(has_text="payments P99 延迟过高")
    # a card: title, level, status and start; no id, service or duration columns
    await expect(card.locator(".c-title")).to_be_visible()
    await expect(card.locator(".c-priority .badge")).to_have_text("P2")
    await expect(card.locator(".c-status .status")).to_have_text("草稿")
    await expect(card.locator(".c-start")).to_be_visible()
    await expect(card.locator(".c-service")).to_be_hidden()
    assert await card.evaluate("row => getComputedStyle(row).display") == "grid"
    await no_horizontal_scroll(page)
    await shot(page, artifacts, "list-phone.png")
    await page.set_viewport_size(DESKTOP)


async def incident_page_details(page: Page) -> None:
    await page.goto("/incidents/1")
    # the draft's action items are tasks: checkboxes that only display
    task = page.locator("article.markdown li.task", has_text="扩大连接池并加告警")
    await expect(task.locator('input[type="checkbox"]')).to_be_disabled()
    await expect(page.locator("article.markdown")).not_to_contain_text("[ ]")
    # due dates read yyyy-mm-dd whatever the browser's locale
    due = page.locator('input[name="act-0-due"]')
    await expect(due).to_have_attribute("type", "text")
    await expect(due).to_have_value("2026-12-03")
    await expect(page.locator('input[name="act-1-due"]')).to_have_attribute(
        "placeholder", "yyyy-mm-dd"
    )
    # the activity list in words
    await expect(page.locator("ul.plain.small li").first).to_contain_text(
        re.compile(r"^lisi 于 \d{4}-\d\d-\d\d \d\d:\d\d 修改了 直接原因、行动计划$")
    )


async def diff_marks_one_character(page: Page, artifacts: Path) -> None:
    await page.goto("/incidents/1")
    await (
        page.locator("li", has_text=re.compile(r"^\s*修订 3"))
        .get_by_role("link", name="与上一修订比较")
        .click()
    )
    await expect(page).to_have_url(re.compile(r"/incidents/1/diff\?from=2&to=3$"))
    await expect(page.locator(".revpair")).to_contain_text("lisi 保存人工填写的内容后生成")
    cause = page.locator("section.sdiff.changed").filter(
        has=page.get_by_role("heading", name=re.compile("直接原因"))
    )
    await expect(cause.locator("ins mark")).to_have_text(["数"])
    await expect(cause.locator("del mark")).to_have_text(["池"])
    await expect(cause.locator("ins")).to_have_text(AFTER)
    mark = cause.locator("ins mark")
    assert await mark.evaluate("m => getComputedStyle(m).backgroundColor") == "rgb(172, 238, 187)"
    # what did not change is folded away, closed
    folded = page.locator("details.sdiff.same")
    await expect(folded.filter(has_text="行动计划")).to_contain_text("个部分未改动")
    await expect(folded.locator("pre").first).to_be_hidden()
    await expect(page.locator("details.sdiff.same[open]")).to_have_count(0)
    await expect(page.locator("section.sdiff")).to_have_count(3)  # 文首, 直接原因, 联系方式
    await shot(page, artifacts, "diff-page.png")
    await page.set_viewport_size(PHONE)
    await no_horizontal_scroll(page)
    await shot(page, artifacts, "diff-phone.png")
    await page.set_viewport_size(DESKTOP)


async def missing_incident_is_a_chinese_page(page: Page) -> None:
    response = await page.goto("/incidents/999")
    assert response is not None
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    await expect(page.get_by_role("heading", name="404 · 找不到页面")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("没有编号为 999 的事故")
    await page.get_by_role("link", name="回到事故列表").click()
    await expect(page.get_by_role("heading", name=re.compile("事故列表"))).to_be_visible()
