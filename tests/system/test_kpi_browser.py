"""The KPI page in a real browser (Debian's Chromium, driven by Playwright): a receiver
process gets real captures over loopback; the page, opened from the header's link, draws
a bar per month whose value is the number of incidents, readable in light and dark, and
fits a phone's width. Screenshots go to $RECEIVER_TEST_ARTIFACTS (else tmp_path)."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import as_group, capture, capture_text
from tests.processes import Service
from tests.system.test_browser import (
    artifacts_dir,
    launch_chromium,
    log_in,
    new_page,
    post_webhook,
    start_review_receiver,
)

with contextlib.suppress(ImportError):  # require_browser() skips first
    from playwright.async_api import Page, ViewportSize, async_playwright, expect

RANGE = "/kpi?months=3&until=2026-11"
PHONE: ViewportSize = {"width": 390, "height": 844}


async def seed(http: aiohttp.ClientSession, receiver: Service) -> None:
    """Three incidents in November 2026: payments and payments-1 resolved, checkout firing."""
    assert await post_webhook(http, receiver, capture_text("firing_group_3")) == 1
    assert await post_webhook(http, receiver, capture_text("resolved_group_3")) == 1
    fire, resolve = (as_group(capture(name), 1) for name in ("firing_group_3", "resolved_group_3"))
    second = await post_webhook(http, receiver, json.dumps(fire))
    assert await post_webhook(http, receiver, json.dumps(resolve)) == second
    third = await post_webhook(http, receiver, capture_text("firing_single"))
    assert len({1, second, third}) == 3


async def bar_values(page: Page, chart: str) -> dict[str, str]:
    data = page.locator(f"svg[aria-labelledby^='{chart}-title'] g.kpi-datum")
    found: dict[str, str] = {}
    for index in range(await data.count()):
        datum = data.nth(index)
        found[str(await datum.get_attribute("data-label"))] = str(
            await datum.get_attribute("data-value")
        )
    return found


async def test_kpi_page_charts_the_incidents(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    receiver = start_review_receiver(request, tmp_path)
    artifacts = artifacts_dir(tmp_path)
    problems: list[str] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        await seed(http, receiver)
        async with async_playwright() as p:
            browser = await launch_chromium(p)
            try:
                page = await new_page(browser, receiver, problems)
                await log_in(page, receiver)
                await page.get_by_role("link", name="指标").click()
                await expect(page).to_have_url(re.compile(r"/kpi$"))
                await expect(
                    page.get_by_role("heading", name=re.compile("事故指标"))
                ).to_be_visible()
                await page.goto(RANGE)
                chart = page.get_by_role("img", name=re.compile("每月事故数"))
                await expect(chart).to_be_visible()
                assert await bar_values(page, "kpi-incidents") == {
                    "2026-09": "0",
                    "2026-10": "0",
                    "2026-11": "3",
                }
                november = chart.locator("g.kpi-datum[data-label='2026-11']")
                await expect(november.locator("text.kpi-value")).to_have_text("3")
                box = await november.locator("rect").bounding_box()
                assert box is not None
                assert box["height"] > 50  # a bar of 3 is drawn, and tall
                # the MTTR chart has a bar only where something ended: November
                assert (await bar_values(page, "kpi-mttr")).keys() == {"2026-11"}
                await expect(page.locator("#kpi-months")).to_contain_text("2026-11")
                light = await november.locator("rect").evaluate("e => getComputedStyle(e).fill")
                desktop = artifacts / "kpi-page.png"
                await page.screenshot(path=str(desktop), full_page=True)
                print(f"\nscreenshot of the KPI page: {desktop}")

                await page.emulate_media(color_scheme="dark")
                dark = await november.locator("rect").evaluate("e => getComputedStyle(e).fill")
                assert dark != light  # the chart follows the dark scheme
                surface = await page.locator(".kpi-figure").first.evaluate(
                    "e => getComputedStyle(e).backgroundColor"
                )
                assert surface == "rgb(13, 17, 23)"
                await page.emulate_media(color_scheme="light")

                await page.set_viewport_size(PHONE)
                await page.goto(RANGE)
                await expect(chart).to_be_visible()
                overflow = await page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
                width = (await chart.bounding_box() or {"width": 0})["width"]
                assert 0 < width <= PHONE["width"]
                phone = artifacts / "kpi-phone.png"
                await page.screenshot(path=str(phone), full_page=True)
                print(f"screenshot of the KPI page on a phone: {phone}")
            finally:
                await browser.close()
    assert problems == []
