"""Marking a change on the incident page, in a real browser (Debian's Chromium via
Playwright): the page lists the incident's changes with their links; a person marks one
not related, takes it back, marks it the cause, and the draft beside follows each time.

The changes are stored in the receiver's own SQLite file through the store, as the
change endpoints store them, before the alerts fire."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from receiver.store import open_database
from receiver.usecases.record_change import RecordChange
from receiver.usecases.unit_of_work import UnitOfWork, utcnow
from tests.conftest import capture_text
from tests.system.test_browser import (
    artifacts_dir,
    launch_chromium,
    new_page,
    post_webhook,
    start_review_receiver,
)
from tests.system.test_browser_sections import log_in_as

with contextlib.suppress(ImportError):  # require_browser() skips first
    from playwright.async_api import expect

FIRST_ALERT = datetime(2026, 11, 26, 19, 11, 48, 595000, tzinfo=UTC)  # firing_group_3
LINK = "https://github.com/acme/payments/deployments/77"


def change(source_id: str, service: str, minutes: int) -> ServiceChange:
    return ServiceChange(
        source=ChangeSource.GITHUB,
        source_id=source_id,
        type=ChangeType.DEPLOY,
        service=service,
        summary=f"{service}-api {source_id}",
        started_at=FIRST_ALERT - timedelta(minutes=minutes),
        namespace="prod",
        from_version="v2.31.0",
        to_version=source_id,
        actor="张三",
        link=LINK if service == "payments" else None,
    )


async def store_changes(database_file: Path) -> None:
    database = open_database(f"sqlite:///{database_file}")
    try:
        record = RecordChange(UnitOfWork(database, utcnow))
        await record(change("v2.32.0", "payments", 10))
        await record(change("v9.1.0", "search", 3))  # shares only the namespace
    finally:
        await database.close()


async def test_marking_a_change_moves_the_draft(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    receiver = start_review_receiver(request, tmp_path)
    problems: list[str] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        await store_changes(tmp_path / "r.db")
        assert await post_webhook(http, receiver, capture_text("firing_group_3")) == 1
        assert await post_webhook(http, receiver, capture_text("resolved_group_3")) == 1

        from playwright.async_api import async_playwright

        async with async_playwright() as p:
            browser = await launch_chromium(p)
            try:
                page = await new_page(browser, receiver, problems)
                await log_in_as(page, "zhangsan")
                rows = page.locator("#changes tr")
                payments = page.locator('#changes tr:has-text("payments-api v2.32.0")')
                article = page.locator("article.markdown")
                await expect(rows).to_have_count(2)
                await expect(rows.first).to_contain_text("payments · 发布：payments-api v2.32.0")
                await expect(payments).to_contain_text("候选 1（待确认）")
                await expect(payments.get_by_role("link", name="查看变更")).to_have_attribute(
                    "href", LINK
                )
                # the draft's times carry the date: the alerts' capture is from another day
                await expect(article).to_contain_text(
                    re.compile(r"候选（待确认）：(11-27 )?03:01:48 payments 发布")
                )

                await payments.get_by_role("button", name="无关").click()
                await expect(page).to_have_url(re.compile(r"/incidents/1#changes$"))
                await expect(payments).to_contain_text(
                    re.compile(r"zhangsan 于 \d{4}-\d\d-\d\d \d\d:\d\d 标记为无关")
                )
                await expect(article).to_contain_text("已排除：无关（zhangsan")
                await expect(article).not_to_contain_text(
                    re.compile(r"候选（待确认）：(11-27 )?03:01:48 payments")
                )

                await payments.get_by_role("button", name="撤销标记").click()
                await expect(payments).to_contain_text("候选 1（待确认）")
                await payments.get_by_role("button", name="是原因").click()
                await expect(payments).to_contain_text("标记为原因")
                await expect(article).to_contain_text(
                    re.compile(r"zhangsan 于 \S+ \S+ 标记为原因：(11-27 )?03:01:48 payments 发布")
                )
                await expect(article).to_contain_text("【待填写：直接原因")
                await page.screenshot(
                    path=str(artifacts_dir(tmp_path) / "incident-changes.png"), full_page=True
                )
            finally:
                await browser.close()
    assert problems == []
