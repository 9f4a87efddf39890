"""The action items page in a real browser (Debian's Chromium, driven by Playwright): a
receiver process with a drafted incident whose action plan has an overdue item; the
header's link opens /actions, the overdue filter narrows it, 标记完成 marks the item done
(and the incident's form shows it ticked), and the CSV export opens as UTF-8 with a BOM."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import capture, capture_text, shifted
from tests.processes import AUTH
from tests.system.test_browser import (
    TIMEOUT_MS,
    artifacts_dir,
    launch_chromium,
    log_in,
    new_page,
    post_webhook,
    start_review_receiver,
)

with contextlib.suppress(ImportError):  # require_browser() skips first
    from playwright.async_api import async_playwright, expect

ITEMS = {
    "actions": [
        {"text": "扩大连接池", "owner": "lisi", "due": "2099-01-01", "horizon": "short"},
        {"text": "补充压测", "owner": "wangwu", "due": "2020-01-01", "horizon": "immediate"},
    ]
}


async def test_actions_page_filters_marks_done_and_exports(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    receiver = start_review_receiver(request, tmp_path)
    artifacts = artifacts_dir(tmp_path)
    problems: list[str] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        assert await post_webhook(http, receiver, capture_text("firing_group_3")) == 1
        assert await post_webhook(http, receiver, capture_text("resolved_group_3")) == 1
        url = f"{receiver.base_url}/api/v1/incidents/1"
        async with http.patch(url, json=ITEMS, headers=AUTH) as response:
            assert response.status == 200, await response.text()
        async with async_playwright() as p:
            browser = await launch_chromium(p)
            try:
                page = await new_page(browser, receiver, problems)
                await log_in(page, receiver)
                await page.get_by_role("link", name="行动项").click()
                await expect(page).to_have_url(re.compile(r"/actions$"))
                rows = page.locator("table.action-items tbody tr")
                await expect(rows).to_have_count(2)
                await expect(rows.first).to_contain_text("补充压测")  # by due date
                await expect(rows.first).to_contain_text("已逾期")

                await page.get_by_label("只看逾期").check()
                await page.get_by_role("button", name="筛选").click()
                await expect(page).to_have_url(re.compile(r"/actions\?.*overdue=1"))
                await expect(rows).to_have_count(1)
                await page.screenshot(path=str(artifacts / "actions-page.png"), full_page=True)

                async with page.expect_download(timeout=TIMEOUT_MS) as info:
                    await page.get_by_role("link", name=re.compile("导出 CSV")).click()
                download = await info.value
                saved = artifacts / download.suggested_filename
                await download.save_as(saved)
                raw = saved.read_bytes()
                assert raw.startswith(b"\xef\xbb\xbf")
                table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
                assert [row[4] for row in table[1:]] == ["补充压测"]

                await rows.first.get_by_role("button", name="标记完成").click()
                await expect(page).to_have_url(re.compile(r"/actions\?overdue=1$"))
                await expect(page.get_by_text("没有符合条件的行动项。")).to_be_visible()
                await page.goto("/actions?status=done")
                await expect(rows).to_have_count(1)
                await expect(rows.first).to_contain_text("已完成")

                # the incident's form shows the same item ticked
                await page.goto("/incidents/1")
                box = page.locator('input[name="act-1-done"]')
                await expect(box).to_be_checked()
                await expect(page.locator('input[name="act-0-done"]')).not_to_be_checked()

                # the same group fires again hours later: a new incident that links #1
                later = json.dumps(shifted(capture("firing_group_3"), timedelta(hours=3)))
                assert await post_webhook(http, receiver, later) == 2
                await page.goto("/incidents/2")
                similar = page.locator("section.similar")
                await expect(similar.get_by_role("heading", name="历史同类事故")).to_be_visible()
                await expect(
                    similar.locator("ul.similar-list").get_by_role("link", name="#1")
                ).to_be_visible()
                note = similar.get_by_role("note")
                await expect(note).to_contain_text(
                    "上次的改进措施尚未完成，可能与本次相关（待确认）"
                )
                await expect(note).to_contain_text("扩大连接池")
                await expect(note).not_to_contain_text("补充压测")  # done already
                await similar.screenshot(path=str(artifacts / "incident-similar.png"))
                await note.get_by_role("button", name="标记完成").click()
                await expect(page).to_have_url(re.compile(r"/incidents/2#similar$"))
                await expect(page.locator("section.similar").get_by_role("note")).to_have_count(0)
            finally:
                await browser.close()
    assert problems == []
