"""Issue 15: a webhook over RECEIVER_MAX_ALERTS is refused while it is parsed, as soon as
the limit is passed, not after every alert has been parsed and validated.

The proof needs no clock: after the alert one past the limit the body is not JSON at all.
A receiver that parsed the whole body first would answer 400 "malformed"; one that stops
at the limit answers 413 "too_large". Bodies are built from the real capture.
(scripts/healthz_under_big_bodies.py measures /healthz while several such bodies arrive.)
"""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from tests.conftest import capture
from tests.inbox import applied

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
JSON = {"Content-Type": "application/json"}
MAX_ALERTS = 50


def storm(alerts: int) -> str:
    """The capture with `alerts` alerts, as Alertmanager would serialise it."""
    body = capture("firing_group_3")
    template = body["alerts"][0]
    body["alerts"] = [{**template, "fingerprint": f"{i:016x}"} for i in range(alerts)]
    return json.dumps(body)


async def incident_count(client: TestClient[Any, Any]) -> int:
    return int((await (await client.get("/api/v1/incidents")).json())["total"])


async def test_a_storm_over_the_limit_is_refused_before_the_rest_is_read(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(max_alerts=MAX_ALERTS, max_body="16MiB", reconcile_interval=0)
    client = await aiohttp_client(create_app(settings))
    whole = storm(MAX_ALERTS + 1)
    # the alert past the limit, and all after it, replaced by ~10 MB that is not JSON
    cut = whole.index('{"status"', whole.index(f'"{MAX_ALERTS - 1:016x}"'))
    body = whole[:cut] + "\x00not JSON" * 1_200_000
    response = await client.post("/api/v1/alerts", data=io.BytesIO(body.encode()), headers=JSON)
    assert response.status == 413, await response.text()
    error = await response.json()
    assert error["error"] == "too_large"
    assert "RECEIVER_MAX_ALERTS" in error["message"]
    assert [detail["field"] for detail in error["details"]] == ["alerts"]
    assert await incident_count(client) == 0
    # under the limit the whole body is parsed, and what is not JSON found
    refused = await client.post(
        "/api/v1/alerts", data=storm(MAX_ALERTS - 1)[:-2] + "\x00", headers=JSON
    )
    assert refused.status == 400
    assert (await refused.json())["error"] == "malformed"


async def test_a_storm_at_the_limit_is_stored_whole(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(max_alerts=MAX_ALERTS, reconcile_interval=0)
    client = await aiohttp_client(create_app(settings))
    response = await client.post("/api/v1/alerts", data=storm(MAX_ALERTS), headers=JSON)
    assert response.status == 202, await response.text()
    incident_id = (await applied(client, await response.json()))["incident_id"]
    detail = await (await client.get(f"/api/v1/incidents/{incident_id}")).json()
    assert len(detail["alerts"]) == MAX_ALERTS
    over = await client.post("/api/v1/alerts", data=storm(MAX_ALERTS + 1), headers=JSON)
    assert over.status == 413


async def test_a_body_refused_before_its_handler_counts_as_a_rejected_webhook(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    """Refused while its body is read, a webhook is still one Alertmanager lost: the
    alert on rejected webhooks must see it."""
    settings = make_settings(max_body="1KiB", reconcile_interval=0)
    client = await aiohttp_client(create_app(settings))
    response = await client.post("/api/v1/alerts", data=storm(3), headers=JSON)
    assert response.status == 413
    metrics = await (await client.get("/metrics")).text()
    rejected = 'postmortem_receiver_webhooks_received_total{reason="too_large",result="rejected"}'
    assert f"{rejected} 1.0" in metrics
