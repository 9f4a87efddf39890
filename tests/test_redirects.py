"""`next=` after login: a table of known open-redirect tricks (issue 15).

Each row is what an attacker puts in `next=`, whether a browser sent to it as it is would
leave the site, and where the receiver sends the browser instead. The table is checked
three ways: the function alone; the login form over HTTP (its Location header, and the
hidden field of the login page); and in Debian's Chromium, which confirms that the raw
tricks marked as leaving do leave (so the table tests something) and follows the
receiver's real redirects after a real login, ending on the receiver every time.
Last, the redirect a trusted proxy's user gets when a session is made for them: the
request target as sent (`GET /\\evil`, `GET //evil`) once came back as its Location.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings, load_settings
from receiver.web.redirects import safe_next
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, require_browser

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
TOKEN = "redirect-token-6d2f"
LEAVES, STAYS = True, False

# (next=, leaves the site as it is, where the receiver sends the browser)
TRICKS: list[tuple[str, bool, str]] = [
    # scheme-relative: another host
    ("//evil.example", LEAVES, "/"),
    ("///evil.example", LEAVES, "/"),
    ("////evil.example/", LEAVES, "/"),
    ("//evil%E3%80%82example", LEAVES, "/"),  # an ideographic full stop is a dot
    # backslashes, which the browser reads as slashes
    ("/\\evil.example", LEAVES, "/"),
    ("\\\\evil.example", LEAVES, "/"),
    ("\\/evil.example", LEAVES, "/"),
    ("/\\/evil.example", LEAVES, "/"),
    ("\\\t\\evil.example", LEAVES, "/"),
    # tabs and newlines, which the browser drops anywhere
    ("/\t/evil.example", LEAVES, "/"),
    ("/\n/evil.example", LEAVES, "/"),
    ("/\r\n/evil.example", LEAVES, "/"),
    ("\t//evil.example", LEAVES, "/"),
    # spaces and control characters, which the browser strips at the ends
    (" //evil.example", LEAVES, "/"),
    ("\x00//evil.example", LEAVES, "/"),
    ("\x0c//evil.example", LEAVES, "/"),
    # schemes
    ("https://evil.example", LEAVES, "/"),
    ("https:evil.example", LEAVES, "/"),
    ("https:/\\evil.example", LEAVES, "/"),
    ("http://127.0.0.1:9@evil.example", LEAVES, "/"),
    ("javascript:alert(1)", LEAVES, "/"),
    ("JaVaScRiPt:alert(1)", LEAVES, "/"),
    ("java\tscript:alert(1)", LEAVES, "/"),
    ("data:text/html,<script>alert(1)</script>", LEAVES, "/"),
    ("http:/evil.example", STAYS, "/"),  # only a path here, but not one of ours
    # dot segments that leave a path starting with two slashes
    ("/.//evil.example", STAYS, "/"),
    ("/%2e//evil.example", STAYS, "/"),
    ("/./\\evil.example", STAYS, "/"),
    ("/%2E%2e//evil.example", STAYS, "/"),
    # relative, or not a path at all
    ("%2F%2Fevil.example", STAYS, "/"),
    ("evil.example", STAYS, "/"),
    ("../evil.example", STAYS, "/"),
    ("／／evil.example", STAYS, "/"),  # fullwidth solidi are no slashes
    ("", STAYS, "/"),
    # paths on this site: kept, escaped and normalised
    ("/%2F%2Fevil.example", STAYS, "/%2F%2Fevil.example"),
    ("/%5Cevil.example", STAYS, "/%5Cevil.example"),
    ("/incidents/7?revision=2", STAYS, "/incidents/7?revision=2"),
    ("/?service=支付&page=2", STAYS, "/?service=%E6%94%AF%E4%BB%98&page=2"),
    ("/incidents/7#draft", STAYS, "/incidents/7"),
    ("/static/../incidents/7", STAYS, "/incidents/7"),
    ("/ evil", STAYS, "/%20evil"),
    ('/"><script>', STAYS, "/%22%3E%3Cscript%3E"),
]
IDS = [repr(trick)[1:-1][:40] or "empty" for trick, _, _ in TRICKS]


@pytest.mark.parametrize(("trick", "leaves", "expected"), TRICKS, ids=IDS)
def test_next_is_a_path_on_this_site(trick: str, leaves: bool, expected: str) -> None:
    assert safe_next(trick) == expected
    assert safe_next(expected) == expected  # already normal: unchanged


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


async def test_login_redirects_only_to_paths_on_this_site(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    client = await aiohttp_client(create_app(make_settings(auth_token=TOKEN, reconcile_interval=0)))
    for trick, _, expected in TRICKS:
        page = await (await client.get("/login?" + urlencode({"next": trick}))).text()
        field = re.search(r'name="next" value="([^"]*)"', page)
        assert field, trick
        assert html.unescape(field.group(1)) == expected, trick
        answer = await client.post(
            "/login",
            data={"csrf_token": csrf_of(page), "name": "zhangsan", "secret": TOKEN, "next": trick},
            allow_redirects=False,
        )
        assert (answer.status, answer.headers["Location"]) == (303, expected), trick


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


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/\\evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\/evil.example/x?y=1", "/"),
        ("/incidents/1?revision=2", "/incidents/1?revision=2"),
    ],
)
async def test_the_trusted_proxy_redirect_stays_on_this_site(
    aiohttp_server: Callable[[web.Application], Awaitable[Any]],
    make_settings: Callable[..., Settings],
    target: str,
    expected: str,
) -> None:
    """A proxied user without a session is sent back to the page asked for, once its
    session is made: the request target, exactly as sent, must not name another host."""
    settings = make_settings(
        auth_token=TOKEN, trusted_proxy_header="X-Forwarded-User", reconcile_interval=0
    )
    server = await aiohttp_server(create_app(settings))
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: receiver.example\r\n"
            "X-Forwarded-User: alice\r\nConnection: close\r\n\r\n".encode()
        )
        head = (await reader.read()).split(b"\r\n\r\n", 1)[0].decode()
    finally:
        writer.close()
    assert head.startswith("HTTP/1.1 303"), head
    assert f"\r\nLocation: {expected}\r\n" in head, head
