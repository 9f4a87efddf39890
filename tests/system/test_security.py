"""Nobody let in, nothing leaked: token rotation, and no secret in any log line."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import capture, capture_text
from tests.inbox import applied
from tests.processes import log_tail, start_receiver

OLD, NEW = "old-token-7f3a9c", "new-token-b81d2e"
BASIC_USER, BASIC_PASSWORD = "alertmanager", "basic-pass-4c6e0a"


async def test_rotation_and_no_secret_in_the_logs(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    service, _ = start_receiver(
        request,
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'r.db'}",
        extra_env={
            "RECEIVER_AUTH_TOKEN": f"{OLD}, {NEW}",
            "RECEIVER_BASIC_AUTH_USER": BASIC_USER,
            "RECEIVER_BASIC_AUTH_PASSWORD": BASIC_PASSWORD,
            "RECEIVER_LOG_LEVEL": "debug",
            "RECEIVER_RECONCILE_INTERVAL": "0",
        },
    )
    basic = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
    json_type = {"Content-Type": "application/json"}
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies from 127.0.0.1
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=10), cookie_jar=jar
    ) as http:
        # both tokens work while they are rotated; anything else does not
        for token, status in ((OLD, 202), (NEW, 202), ("other-token", 401)):
            async with http.post(
                f"{service.base_url}/api/v1/alerts",
                data=capture_text("firing_group_3"),
                headers={**json_type, "Authorization": f"Bearer {token}"},
            ) as r:
                assert r.status == status, token
        async with http.post(
            f"{service.base_url}/api/v1/alerts",
            data=capture_text("resolved_group_3"),
            headers={**json_type, "Authorization": f"Basic {basic}"},
        ) as r:
            assert r.status == 202
            resolved = await r.json()
        basic_auth = {"Authorization": f"Basic {basic}"}
        drafted = await applied(http, resolved, base=service.base_url, headers=basic_auth)
        assert drafted["incident_status"] == "drafted"
        # a page session: the login form carries the password, the answer a cookie
        async with http.get(f"{service.base_url}/login") as r:
            found = re.search(r'name="csrf_token" value="([^"]+)"', await r.text())
        assert found
        csrf = found.group(1)
        async with http.post(
            f"{service.base_url}/login",
            allow_redirects=False,
            data={
                "csrf_token": csrf,
                "name": BASIC_USER,
                "secret": BASIC_PASSWORD,
                "next": "/",
            },
        ) as r:
            assert r.status == 303
            cookie = r.cookies["pmr_session"].value
        async with http.get(
            f"{service.base_url}/incidents/1", cookies={"pmr_session": cookie}
        ) as r:
            assert r.status == 200
        # and a failed login with a guessed password
        async with http.post(
            f"{service.base_url}/login",
            data={
                "csrf_token": csrf,
                "name": BASIC_USER,
                "secret": "guess-" + BASIC_PASSWORD,
            },
        ) as r:
            assert r.status == 401
    log = service.log_path.read_text(encoding="utf-8", errors="replace")
    assert '"path": "/api/v1/alerts"' in log  # the log is there and has the requests
    for secret in (OLD, NEW, BASIC_PASSWORD, basic, cookie, csrf):
        assert secret not in log, f"a secret is in the log:\n{log_tail(service.log_path)}"


def test_right_to_left_and_control_characters_do_not_reach_the_page() -> None:
    from receiver.web.pages.render import _visible

    assert _visible("evil\u202egnp.exe\x07") == "evilgnp.exe"
    body = capture("firing_single")
    assert _visible(body["receiver"]) == body["receiver"]
