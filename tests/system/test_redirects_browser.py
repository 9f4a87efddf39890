"""Every redirect trick in a real browser (Debian's Chromium) ends on the receiver."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from receiver.app import create_app
from receiver.config import load_settings
from tests.http.test_redirects import TOKEN, TRICKS
from tests.system.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, require_browser


async def test_a_real_browser_ends_on_the_receiver_after_every_trick(
    aiohttp_server: Callable[[web.Application], Awaitable[Any]], tmp_path: Path
) -> None:
    require_browser()
    from playwright.async_api import Route, async_playwright

    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'r.db'}",
        drafts_dir=tmp_path / "drafts",
        auth_token=TOKEN,
        reconcile_interval=0,
        log_format="json",
    )
    server = await aiohttp_server(create_app(settings))
    base = str(server.make_url("")).rstrip("/")
    left: list[str] = []  # requests the browser tried to send anywhere else
    wanted = {"next": ""}  # the trick the login form is about to carry

    async def route(route: Route) -> None:
        request = route.request
        if not request.url.startswith(base + "/"):
            left.append(request.url)
            await route.abort()
        elif request.method == "POST" and request.url == base + "/login":
            # the form as an attacker's link would have it: `next` exactly the trick
            form = dict(re.findall(r"([^&=]+)=([^&]*)", request.post_data or ""))
            form["next"] = wanted["next"]
            await route.continue_(post_data=urlencode(form))
        else:
            await route.continue_()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            context = await browser.new_context(base_url=base)
            context.set_default_timeout(TIMEOUT_MS)
            await context.route("**/*", route)
            page = await context.new_page()
            await page.goto("/login")
            # how Chromium reads each trick as it is, and what the receiver makes of it
            resolved = await page.evaluate(
                """([tricks, base]) => tricks.map(([raw, safe]) => {
                    const origin = (url) => { try { return new URL(url, base).origin }
                                              catch (e) { return 'invalid' } };
                    return [origin(raw), new URL(safe, base).href];
                })""",
                [[[trick, expected] for trick, _, expected in TRICKS], base + "/login"],
            )
            for (trick, leaves, expected), (raw_origin, safe_href) in zip(
                TRICKS, resolved, strict=True
            ):
                assert (raw_origin != base) == leaves, f"{trick!r}: Chromium reads {raw_origin}"
                assert safe_href == base + expected, trick
            for trick, _, expected in TRICKS:
                wanted["next"] = trick
                await page.goto("/login")
                await page.locator('input[name="name"]').fill("zhangsan")
                await page.locator('input[name="secret"]').fill(TOKEN)
                async with page.expect_navigation():
                    await page.locator('button[type="submit"]').click()
                landed = urlsplit(page.url)
                assert f"{landed.scheme}://{landed.netloc}" == base, trick
                assert page.url == base + expected, trick
        finally:
            await browser.close()
    assert left == []
