"""The incident page in a real browser (Debian's Chromium via Playwright): editing one
section at a time, two people editing the same field, what is left, the approval gate, and
the layout at desktop and phone size.

Two browser contexts are two people with their own sessions. Screenshots of the page go
to $RECEIVER_TEST_ARTIFACTS (else the test's tmp_path); docs/ holds copies.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import capture_text
from tests.processes import TOKEN, Service, get_json
from tests.system.test_browser import (
    EVENTS,
    artifacts_dir,
    launch_chromium,
    new_page,
    open_section,
    post_event,
    post_webhook,
    save_section,
    start_review_receiver,
)

with contextlib.suppress(ImportError):  # require_browser() skips first
    from playwright.async_api import Page, async_playwright, expect

TOTAL_PARTS = 13  # receiver.domain.completeness.CHECKS


async def log_in_as(page: Page, name: str) -> None:
    await page.goto("/login?next=/incidents/1")
    await page.locator('input[name="name"]').fill(name)
    await page.locator('input[name="secret"]').fill(TOKEN)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(re.compile(r"/incidents/1$"))


async def stored_fields(http: aiohttp.ClientSession, receiver: Service) -> dict[str, object]:
    fields: dict[str, object] = await get_json(
        http, f"{receiver.base_url}/api/v1/incidents/1/fields"
    )
    return fields


async def expect_left(page: Page, count: int) -> None:
    await expect(page.locator(".completeness .left")).to_have_text(f"还差 {count} 项")


async def test_sections_conflicts_what_is_left_and_the_gate(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    receiver = start_review_receiver(request, tmp_path)
    artifacts = artifacts_dir(tmp_path)
    problems: list[str] = []

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        assert await post_webhook(http, receiver, capture_text("firing_group_3")) == 1
        for event in EVENTS:
            await post_event(http, receiver, {**event, "service": "payments"})
        assert await post_webhook(http, receiver, capture_text("resolved_group_3")) == 1

        async with async_playwright() as p:
            browser = await launch_chromium(p)
            try:
                first = await new_page(browser, receiver, problems)
                second = await new_page(browser, receiver, problems)
                await log_in_as(first, "zhangsan")
                await log_in_as(second, "lisi")
                article = first.locator("article.markdown")

                # what is left, each part linking to its section's form
                await expect_left(first, TOTAL_PARTS)
                link = first.locator(".completeness a", has_text="直接原因")
                await expect(link).to_have_attribute("href", "#section-direct_cause")
                # each section's control sits right under its heading in the draft
                control = article.locator("h3:text-is('直接原因') + details.section-edit")
                await expect(control).to_have_attribute("id", "section-direct_cause")

                # one section saved: only its fields change, and the draft shows them
                await save_section(first, "root_cause", {"root_cause_process": "发布前没有压测"})
                await expect(first.locator("section.draft > h2")).to_contain_text("修订 2")
                await expect(article).to_contain_text("流程原因: 发布前没有压测")
                stored = await stored_fields(http, receiver)
                changed = {name for name, value in stored.items() if value not in ("", [])}
                assert changed == {"root_cause_process"}  # the other sections' suggestions too
                await expect_left(first, TOTAL_PARTS - 1)

                # both open revision 2 and edit the direct cause; the first saves first
                await second.reload()
                await expect(second.locator("section.draft > h2")).to_contain_text("修订 2")
                form_b = await open_section(second, "direct_cause")
                await form_b.locator('textarea[name="direct_cause"]').fill("李四：数据库慢查询")
                await save_section(first, "direct_cause", {"direct_cause": "张三：连接池调到 5"})
                await expect_left(first, TOTAL_PARTS - 2)
                await form_b.get_by_role("button", name="保存本节").click()
                # the second gets the conflict, the first's value, and keeps what was typed
                await expect(second.locator("p.error[role=alert]")).to_contain_text(
                    "你打开页面后，直接原因 已被他人修改"
                )
                conflict = second.locator("#section-direct_cause .conflict")
                await expect(conflict).to_contain_text("对方保存的直接原因")
                await expect(conflict.locator("pre")).to_have_text("张三：连接池调到 5")
                kept = second.locator('#section-direct_cause textarea[name="direct_cause"]')
                await expect(kept).to_be_visible()
                await expect(kept).to_have_value("李四：数据库慢查询")
                assert (await stored_fields(http, receiver))["direct_cause"] == "张三：连接池调到 5"
                await second.set_viewport_size({"width": 1280, "height": 900})
                await second.locator("#section-direct_cause").screenshot(
                    path=str(artifacts / "incident-conflict.png")
                )
                # merged by hand and saved again: this save is based on what it was shown
                await kept.fill("张三：连接池调到 5；李四：数据库慢查询放大了排队")
                await (
                    second.locator("#section-direct_cause")
                    .get_by_role("button", name="保存本节")
                    .click()
                )
                await expect(second).to_have_url(re.compile(r"\?saved=1#section-direct_cause$"))
                await expect(second.locator("article.markdown")).to_contain_text(
                    "李四：数据库慢查询放大了排队"
                )

                # the gate: in review, approving waits for the required parts, and says so
                await first.reload()
                await first.get_by_role("button", name="提交审阅").click()
                approve = first.get_by_role("button", name="批准", exact=True)
                await expect(approve).to_be_disabled()
                why = first.locator("#approval-why")
                await expect(why).to_contain_text("必填项未填全，暂不能批准。还缺：负责人")
                await expect(why).to_contain_text("行动计划（至少一项有负责人）")
                await layout(first, artifacts)

                # filling a required part shortens both lists
                await save_section(first, "overview", {"owner": "zhangsan"})
                await expect_left(first, TOTAL_PARTS - 4)  # participants confirmed too
                await expect(why).not_to_contain_text("还缺：负责人")

                # the override, with a reason
                await first.locator("details.override > summary").click()
                reason = "周会已口头复盘，影响范围待客服统计"
                await first.locator('textarea[name="override_reason"]').fill(reason)
                await first.get_by_role("button", name="填写理由并强制批准").click()
                await expect(first.locator(".heading .meta .status")).to_have_text("已批准")
                await expect(first.locator(".completeness")).to_contain_text(
                    f"未填全即批准，理由: {reason}"
                )
                await expect(first.locator(".section-edit")).to_have_count(0)
            finally:
                await browser.close()

        detail = await get_json(http, f"{receiver.base_url}/api/v1/incidents/1")
    assert detail["approval_override"] == reason
    assert problems == []


async def layout(page: Page, artifacts: Path) -> None:
    """Wide: the alerts and the timeline stay in view beside the draft as it scrolls.
    Phone: one column, nothing wider than the screen."""
    aside = page.locator("aside.side")
    draft = page.locator("section.draft")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.locator("h2:text-is('行动计划')").scroll_into_view_if_needed()
    side, main = await aside.bounding_box(), await draft.bounding_box()
    assert side is not None
    assert main is not None
    assert side["x"] > main["x"] + main["width"] - 1  # beside the draft
    assert 0 <= side["y"] < 900, side  # still in view, far down the draft
    await expect(aside.get_by_role("heading", name="告警列表")).to_be_in_viewport()
    height = await page.evaluate("document.documentElement.scrollHeight")
    print(f"\nincident page height at 1280 px: {height} px")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(artifacts / "incident-sections-desktop.png"))
    await page.screenshot(path=str(artifacts / "incident-sections-full.png"), full_page=True)

    await page.set_viewport_size({"width": 390, "height": 844})  # a phone
    await page.evaluate("window.scrollTo(0, 0)")
    side, main = await aside.bounding_box(), await draft.bounding_box()
    assert side is not None
    assert main is not None
    assert side["y"] > main["y"] + main["height"] - 1  # below the draft: one column
    wide = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert wide == 0, f"the page scrolls sideways by {wide} px on a phone"
    await page.screenshot(path=str(artifacts / "incident-sections-phone.png"))
    await page.set_viewport_size({"width": 1280, "height": 900})
