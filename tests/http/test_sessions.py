"""Sessions that end and logins that cannot be guessed (issue 15), on SQLite and PostgreSQL.

Every test runs real apps on loopback, often two of them on one database as two replicas
behind a load balancer would. A visitor is a browser at one loopback address (127.0.0.x:
Linux routes the whole 127/8 to lo), with its own cookies, which a cookie jar shares
between the replicas as a browser would (cookies do not depend on the port).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from receiver.app import create_app
from receiver.config import ConfigError, Settings, load_settings
from receiver.throttle import (
    FIRST_BLOCK,
    FORGET_AFTER,
    FREE_FAILURES,
    MAX_BLOCK,
    after_failure,
    block_for,
    wait,
)
from tests.conftest import Clock

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
TOKEN, OTHER_TOKEN = "session-token-1f4c", "session-token-9a2e"
USER, PASSWORD = "admin", "basic-pass-77d1"
SECRET = "session-secret-5b0e"
BURST = 24  # guesses sent at once


class Visitor:
    """A browser at one loopback address, talking to any replica."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.address = address
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(address, 0)),
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # keep cookies from 127.0.0.1
            timeout=aiohttp.ClientTimeout(total=10),
        )

    async def close(self) -> None:
        await self.http.close()

    def session_cookie(self) -> str | None:
        for cookie in self.http.cookie_jar:
            if cookie.key == "pmr_session":
                return cookie.value
        return None

    async def login(
        self, server: TestServer, name: str, secret: str, next_page: str = "/"
    ) -> tuple[int, str, dict[str, str]]:
        """POST the login form as a browser would; its status, page and headers."""
        async with self.http.get(server.make_url("/login")) as page:
            csrf = csrf_of(await page.text())
        async with self.http.post(
            server.make_url("/login"),
            data={"csrf_token": csrf, "name": name, "secret": secret, "next": next_page},
            allow_redirects=False,
        ) as answer:
            return answer.status, await answer.text(), dict(answer.headers)

    async def page(
        self, server: TestServer, path: str = "/", cookie: str | None = None
    ) -> tuple[int, str]:
        """GET a page: its status (a 303 means "log in first") and its text. With
        `cookie`, that saved session cookie is sent instead of the jar's."""
        headers = {"Cookie": f"pmr_session={cookie}"} if cookie is not None else None
        async with self.http.get(
            server.make_url(path), allow_redirects=False, headers=headers
        ) as answer:
            return answer.status, await answer.text()

    async def logout(self, server: TestServer) -> int:
        status, html = await self.page(server)
        assert status == 200
        async with self.http.post(
            server.make_url("/logout"), data={"csrf_token": csrf_of(html)}, allow_redirects=False
        ) as answer:
            return answer.status

    async def api(self, server: TestServer, token: str) -> tuple[int, dict[str, str], Any]:
        async with self.http.get(
            server.make_url("/api/v1/incidents"), headers={"Authorization": f"Bearer {token}"}
        ) as answer:
            return answer.status, dict(answer.headers), await answer.json()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@pytest.fixture
async def visitors() -> AsyncIterator[Callable[[str], Visitor]]:
    made: list[Visitor] = []

    def make(address: str = "127.0.0.1") -> Visitor:
        made.append(Visitor(address))
        return made[-1]

    yield make
    for visitor in made:
        await visitor.close()


@pytest.fixture
def replica(
    aiohttp_server: ServerFactory, make_settings: Callable[..., Settings], clock: Clock
) -> Callable[..., Awaitable[TestServer]]:
    """A receiver on this test's database; each call is another replica."""

    async def start(**overrides: Any) -> TestServer:
        values: dict[str, Any] = {
            "auth_token": TOKEN,
            "session_secret": SECRET,
            "reconcile_interval": 0,
            **overrides,
        }
        return await aiohttp_server(create_app(make_settings(**values), clock=clock))

    return start


# -- logout, expiry and credentials -------------------------------------------------------


async def test_logout_ends_the_session_even_for_a_saved_cookie(
    replica: Callable[..., Awaitable[TestServer]], visitors: Callable[[str], Visitor]
) -> None:
    server = await replica()
    browser = visitors("127.0.0.1")
    status, _, _ = await browser.login(server, "zhangsan", TOKEN)
    assert status == 303
    saved = browser.session_cookie()
    assert saved is not None
    status, html = await browser.page(server)
    assert (status, "zhangsan" in html) == (200, True)
    assert await browser.logout(server) == 303
    assert browser.session_cookie() is None  # the browser forgot it …
    status, _ = await browser.page(server, cookie=saved)
    assert status == 303  # … and the server too: the saved copy opens nothing
    async with browser.http.post(
        server.make_url("/incidents/1/fields"),
        headers={"Cookie": f"pmr_session={saved}"},
        data={"owner": "x"},
    ) as answer:
        assert answer.status == 401
        assert (await answer.json())["error"] == "unauthenticated"


async def test_an_idle_session_expires_and_a_busy_one_lasts_twelve_hours(
    replica: Callable[..., Awaitable[TestServer]],
    visitors: Callable[[str], Visitor],
    clock: Clock,
) -> None:
    server = await replica(session_idle_timeout="1h")
    browser = visitors("127.0.0.1")
    assert (await browser.login(server, "zhangsan", TOKEN))[0] == 303
    clock.advance(minutes=59)
    assert (await browser.page(server))[0] == 200  # used within the hour: still on
    clock.advance(minutes=59)
    assert (await browser.page(server))[0] == 200
    clock.advance(minutes=61)
    status, _ = await browser.page(server)
    assert status == 303  # idle for more than the hour: over

    assert (await browser.login(server, "zhangsan", TOKEN))[0] == 303
    for _ in range(14):  # busy every 50 minutes, for 11h40m
        clock.advance(minutes=50)
        assert (await browser.page(server))[0] == 200
    clock.advance(minutes=21)  # 12h01m after the login
    assert (await browser.page(server))[0] == 303


async def test_a_session_ends_when_its_credential_is_removed_or_the_secret_rotated(
    replica: Callable[..., Awaitable[TestServer]], visitors: Callable[[str], Visitor]
) -> None:
    before = await replica(
        auth_token=f"{TOKEN},{OTHER_TOKEN}", basic_auth_user=USER, basic_auth_password=PASSWORD
    )
    by_old_token, by_new_token, by_password = (visitors("127.0.0.1") for _ in range(3))
    assert (await by_old_token.login(before, "zhangsan", TOKEN))[0] == 303
    assert (await by_new_token.login(before, "lisi", OTHER_TOKEN))[0] == 303
    assert (await by_password.login(before, USER, PASSWORD))[0] == 303
    # the same database, the old token rotated out and the basic-auth user replaced
    after = await replica(
        auth_token=OTHER_TOKEN, basic_auth_user="someone-else", basic_auth_password=PASSWORD
    )
    assert (await by_old_token.page(after))[0] == 303
    assert (await by_password.page(after))[0] == 303
    status, html = await by_new_token.page(after)
    assert (status, "lisi" in html) == (200, True)  # its credential is still configured
    # the signing secret rotated: every cookie signed with the old one opens nothing
    rotated = await replica(auth_token=OTHER_TOKEN, session_secret="another-secret-c3d9")
    assert (await by_new_token.page(rotated))[0] == 303
    assert (await by_new_token.page(before))[0] == 200


async def test_sessions_work_across_two_replicas_and_logout_on_one_ends_them_on_both(
    replica: Callable[..., Awaitable[TestServer]], visitors: Callable[[str], Visitor]
) -> None:
    a, b = await replica(), await replica()
    browser = visitors("127.0.0.1")
    assert (await browser.login(a, "zhangsan", TOKEN))[0] == 303
    saved = browser.session_cookie()
    status, html = await browser.page(b)
    assert (status, "zhangsan" in html) == (200, True)
    assert await browser.logout(b) == 303
    assert (await browser.page(a, cookie=saved))[0] == 303
    assert (await browser.page(b, cookie=saved))[0] == 303


# -- guessing -----------------------------------------------------------------------------


async def test_failed_logins_block_the_address_growing_and_a_fresh_address_still_logs_in(
    replica: Callable[..., Awaitable[TestServer]],
    visitors: Callable[[str], Visitor],
    clock: Clock,
) -> None:
    server = await replica(basic_auth_user=USER, basic_auth_password=PASSWORD, language="zh")
    guesser = visitors("127.0.0.1")
    for attempt in range(FREE_FAILURES):
        status, html, _ = await guesser.login(server, USER, f"guess-{attempt}")
        assert status == 401, html
        assert "名字、令牌或密码不对" in html
    # blocked: even the right password is not looked at
    status, html, headers = await guesser.login(server, USER, PASSWORD)
    first = int(headers["Retry-After"])
    assert (status, first) == (429, int(FIRST_BLOCK.total_seconds()))
    assert f"登录失败次数过多，请 {first} 秒后再试" in html
    assert guesser.session_cookie() is None

    # the name is blocked too: it holds back another address once that one fails …
    spread = visitors("127.0.0.3")
    assert (await spread.login(server, USER, "guess-from-elsewhere"))[0] == 401
    assert (await spread.login(server, USER, PASSWORD))[0] == 429
    # … but an address that has not failed logs in with the right password
    owner = visitors("127.0.0.2")
    status, _, headers = await owner.login(server, USER, PASSWORD, "/?page=2")
    assert (status, headers["Location"]) == (303, "/?page=2")

    # each failure after a block blocks twice as long
    waits = [first]
    for _ in range(3):
        clock.advance(seconds=waits[-1])
        assert (await guesser.login(server, USER, "another-guess"))[0] == 401
        status, _, headers = await guesser.login(server, USER, PASSWORD)
        assert status == 429
        waits.append(int(headers["Retry-After"]))
    assert waits == [first, 2 * first, 4 * first, 8 * first]
    # once the block is over the right password works, and the count starts again
    clock.advance(seconds=waits[-1])
    assert (await guesser.login(server, USER, PASSWORD))[0] == 303
    assert (await guesser.login(server, USER, "guess"))[0] == 401


async def test_the_login_limit_holds_across_two_replicas(
    replica: Callable[..., Awaitable[TestServer]], visitors: Callable[[str], Visitor]
) -> None:
    settings = {"basic_auth_user": USER, "basic_auth_password": PASSWORD, "language": "en"}
    a, b = await replica(**settings), await replica(**settings)
    guesser = visitors("127.0.0.1")
    for attempt in range(FREE_FAILURES):
        # alternating: neither replica alone has seen enough failures to block
        status, _, _ = await guesser.login((a, b)[attempt % 2], USER, f"guess-{attempt}")
        assert status == 401
    for server in (a, b):
        status, html, headers = await guesser.login(server, USER, PASSWORD)
        assert (status, int(headers["Retry-After"]) >= 1) == (429, True)
        assert "Too many failed logins" in html
    assert (await visitors("127.0.0.2").login(b, USER, PASSWORD))[0] == 303


async def test_wrong_bearer_tokens_block_the_address_on_every_replica(
    replica: Callable[..., Awaitable[TestServer]], visitors: Callable[[str], Visitor]
) -> None:
    a, b = await replica(), await replica()
    script = visitors("127.0.0.1")
    assert (await script.api(b, TOKEN))[0] == 200
    for attempt in range(FREE_FAILURES):
        status, _, body = await script.api(a, f"wrong-{attempt}")
        assert (status, body["error"]) == (401, "unauthenticated")
    status, headers, body = await script.api(a, TOKEN)  # the right token, too late
    assert (status, body["error"]) == (429, "rate_limited")
    assert int(headers["Retry-After"]) == int(FIRST_BLOCK.total_seconds())
    # the other replica reads the blocks again within a second
    deadline = time.monotonic() + 5
    while (await script.api(b, TOKEN))[0] != 429:
        assert time.monotonic() < deadline, "replica b never saw the block"
    assert (await visitors("127.0.0.2").api(b, TOKEN))[0] == 200  # another address


async def test_a_burst_of_guesses_at_once_gets_no_more_checks_than_one_by_one(
    replica: Callable[..., Awaitable[TestServer]], visitors: Callable[[str], Visitor]
) -> None:
    settings = {"basic_auth_user": USER, "basic_auth_password": PASSWORD}
    a, b = await replica(**settings), await replica(**settings)
    guesser = visitors("127.0.0.1")
    async with guesser.http.get(a.make_url("/login")) as page:
        csrf = csrf_of(await page.text())

    async def guess_login(index: int) -> int:
        async with guesser.http.post(
            (a, b)[index % 2].make_url("/login"),
            data={"csrf_token": csrf, "name": USER, "secret": f"guess-{index}"},
        ) as answer:
            return answer.status

    statuses = await asyncio.gather(*(guess_login(index) for index in range(BURST)))
    assert sorted(statuses) == [401] * FREE_FAILURES + [429] * (BURST - FREE_FAILURES)

    script = visitors("127.0.0.2")
    answers = await asyncio.gather(
        *(script.api((a, b)[index % 2], f"wrong-{index}") for index in range(BURST))
    )
    statuses = [status for status, _, _ in answers]
    assert sorted(statuses) == [401] * FREE_FAILURES + [429] * (BURST - FREE_FAILURES)
    # each replica refused some, so each knows the block, even for the right token
    for server in (a, b):
        assert (await script.api(server, TOKEN))[0] == 429


async def test_with_no_credentials_configured_nothing_is_counted(
    replica: Callable[..., Awaitable[TestServer]], visitors: Callable[[str], Visitor]
) -> None:
    server = await replica(auth_token=None)
    browser = visitors("127.0.0.1")
    for _ in range(FREE_FAILURES + 1):
        status, _, _ = await browser.login(server, "", "")
        assert status == 401  # a name is all it takes, and an empty one is no guess
    assert (await browser.login(server, "wangwu", ""))[0] == 303
    assert (await browser.page(server))[0] == 200


def test_blocks_double_up_to_a_cap_and_a_quiet_hour_forgets() -> None:
    start = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    blocks = [block_for(count) for count in range(1, 30)]
    assert blocks[: FREE_FAILURES - 1] == [timedelta(0)] * (FREE_FAILURES - 1)
    assert blocks[FREE_FAILURES - 1 : FREE_FAILURES + 2] == [
        FIRST_BLOCK,
        2 * FIRST_BLOCK,
        4 * FIRST_BLOCK,
    ]
    assert max(blocks) == blocks[-1] == MAX_BLOCK
    assert block_for(10**6) == MAX_BLOCK
    failures = None
    for _ in range(FREE_FAILURES):
        failures = after_failure(failures, start)
    assert wait(failures, start) == FIRST_BLOCK
    assert wait(failures, start + FIRST_BLOCK) == timedelta(0)
    assert after_failure(failures, start + FIRST_BLOCK).count == FREE_FAILURES + 1
    assert after_failure(failures, start + FORGET_AFTER).count == 1  # a quiet hour


def test_the_idle_timeout_is_a_duration_within_the_session_lifetime() -> None:
    assert load_settings(session_idle_timeout="1h30m").session_idle_timeout == timedelta(minutes=90)
    assert load_settings().session_idle_timeout == timedelta(hours=2)
    for bad in ("30s", "13h", "soon"):
        with pytest.raises(ConfigError, match="RECEIVER_SESSION_IDLE_TIMEOUT"):
            load_settings(session_idle_timeout=bad)
