"""Limits on alerts, labels and values, and the rate limit on manual events."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from receiver.limits import RateLimiter
from tests.conftest import capture
from tests.inbox import applied

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> TestClient[Any, Any]:
    settings = make_settings(
        max_alerts=5, max_labels=10, max_value_length=100, event_rate=3, reconcile_interval=0
    )
    return await aiohttp_client(create_app(settings))


def group(alerts: int) -> dict[str, Any]:
    body = capture("firing_group_3")
    template = body["alerts"][0]
    body["alerts"] = [{**template, "fingerprint": f"{i:016x}"} for i in range(alerts)]
    return body


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (group(6), 413, "alerts"),
        (
            {
                **group(1),
                "alerts": [{**group(1)["alerts"][0], "labels": {f"l{i}": "v" for i in range(11)}}],
            },
            422,
            "alerts.0.labels",
        ),
        (
            {
                **group(1),
                "alerts": [{**group(1)["alerts"][0], "annotations": {"description": "x" * 101}}],
            },
            422,
            "alerts.0.annotations.description",
        ),
    ],
    ids=["too many alerts", "too many labels", "value too long"],
)
async def test_over_a_limit_is_refused_clearly_and_stores_nothing(
    client: TestClient[Any, Any], body: dict[str, Any], status: int, field: str
) -> None:
    response = await client.post("/api/v1/alerts", data=json.dumps(body), headers=JSON)
    assert response.status == status
    error = await response.json()
    assert field in [detail["field"] for detail in error["details"]]
    assert "RECEIVER_MAX_" in error["message"]
    assert (await (await client.get("/api/v1/incidents")).json())["total"] == 0
    within = await client.post("/api/v1/alerts", data=json.dumps(group(5)), headers=JSON)
    assert within.status == 202
    assert (await applied(client, await within.json()))["created"] is True


async def test_manual_events_are_rate_limited_per_credential_whatever_the_actor(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(auth_token="token-a,token-b", event_rate=3, reconcile_interval=0)
    client = await aiohttp_client(create_app(settings))
    fields = {
        "type": "system-alert",
        "service": "orders",
        "severity": "critical",
        "message": "m",
        "actor": "zhaoliu",
    }
    statuses = []
    for index in range(5):
        # a new X-Actor every time: the caller picks it, so it opens no bucket of its own
        response = await client.post(
            "/api/v1/events",
            data={**fields, "idempotency_key": str(index)},
            headers={"Authorization": "Bearer token-a", "X-Actor": f"actor-{index}"},
        )
        statuses.append(response.status)
        if response.status == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert (await response.json())["error"] == "rate_limited"
    assert statuses == [201, 201, 201, 429, 429]
    other = await client.post(
        "/api/v1/events",
        data={**fields, "idempotency_key": "x"},
        headers={"Authorization": "Bearer token-b"},
    )
    assert other.status == 201  # another credential has its own bucket


def test_bucket_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=2, clock=lambda: now[0])
    assert limiter.take("a") == 0
    assert limiter.take("a") == 0
    assert limiter.take("a") == pytest.approx(30.0)
    now[0] = 30.0
    assert limiter.take("a") == 0
