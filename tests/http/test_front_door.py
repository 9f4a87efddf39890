"""What every answer of the webhook route carries, whatever ends the request: the request
id (echoed, or made up), the security headers, a JSON error body, and one access log line
with the status sent."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.store import StoreUnavailable
from receiver.usecases.errors import InboxFull
from receiver.web.keys import SERVICE, SETTINGS
from tests.conftest import capture_text
from tests.http.conftest import TOKEN  # the `client` fixture's token

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
HARDENED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def assert_carries(response: Any, request_id: str | None = None) -> None:
    for name, value in HARDENED.items():
        assert response.headers[name] == value, name
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    if request_id is None:
        assert len(response.headers["X-Request-Id"]) == 32  # made up: prefix and counter
    else:
        assert response.headers["X-Request-Id"] == request_id


async def test_accepted_and_refused_webhooks_carry_the_same_headers(
    client: TestClient[Any, Any],
) -> None:
    body = capture_text("firing_single")
    accepted = await client.post("/api/v1/alerts", data=body, headers=AUTH)
    assert accepted.status == 202
    assert_carries(accepted)
    echoed = await client.post(
        "/api/v1/alerts", data=body, headers={**AUTH, "X-Request-Id": "from-alertmanager"}
    )
    assert_carries(echoed, "from-alertmanager")
    first, second = accepted.headers["X-Request-Id"], echoed.headers["X-Request-Id"]
    assert first != second

    cases: list[tuple[dict[str, str], Any, int, str]] = [
        ({"Content-Type": "application/json"}, body, 401, "unauthenticated"),
        ({**AUTH, "Authorization": "Bearer wrong"}, body, 401, "unauthenticated"),
        (AUTH, "not json", 400, "malformed"),
        ({**AUTH, "Content-Type": "text/plain"}, body, 415, "unsupported_media_type"),
        (AUTH, io.BytesIO(b"x" * (client.app[SETTINGS].max_body + 1)), 413, "too_large"),
    ]
    for headers, data, status, code in cases:
        refused = await client.post(
            "/api/v1/alerts", data=data, headers={**headers, "X-Request-Id": code}
        )
        assert refused.status == status, (code, await refused.text())
        assert (await refused.json())["error"] == code
        assert_carries(refused, code)

    wrong_method = await client.get("/api/v1/alerts", headers=AUTH)
    assert wrong_method.status == 405
    assert (await wrong_method.json())["error"] == "method_not_allowed"
    assert "POST" in wrong_method.headers["Allow"]
    assert_carries(wrong_method)


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [
        (InboxFull("the inbox holds 10 entries", 7.2), 503, "inbox_full"),
        (StoreUnavailable("database is locked"), 503, "store_unavailable"),
        (RuntimeError("a bug"), 500, "internal"),
    ],
)
async def test_what_the_store_raises_is_answered_as_json_with_the_headers(
    client: TestClient[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
    raised: Exception,
    status: int,
    code: str,
) -> None:
    async def fail(*args: Any) -> int:
        raise raised

    monkeypatch.setattr(type(client.app[SERVICE].accept), "__call__", fail)
    response = await client.post("/api/v1/alerts", data=capture_text("firing_single"), headers=AUTH)
    assert response.status == status
    assert (await response.json())["error"] == code
    assert_carries(response)
    if status == 503:
        assert int(response.headers["Retry-After"]) >= 1


async def test_one_access_line_per_request_with_its_id_and_status(
    client: TestClient[Any, Any],
) -> None:
    with structlog.testing.capture_logs() as lines:
        await client.post("/api/v1/alerts", data="{}", headers={**AUTH, "X-Request-Id": "r-1"})
    access = [line for line in lines if line["event"] == "request"]
    assert len(access) == 1
    assert access[0]["status"] == 422
    assert (access[0]["method"], access[0]["path"]) == ("POST", "/api/v1/alerts")
