"""Issue 18: accept first, apply behind. The webhook's 202 names an inbox entry that is
applied in order behind the answer; a manual event waits for its own entry; GET
/api/v1/inbox/{id} says where an entry stands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from receiver.web.keys import DATABASE, SERVICE
from tests.conftest import Clock, capture_text
from tests.http.test_review import log_in
from tests.inbox import applied, inbox_entry

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
JSON = {"Content-Type": "application/json"}
AUTH = {"Authorization": "Bearer t0ken"}
ACK = {"type": "ack", "service": "payments", "message": "值班已确认", "actor": "zhangsan"}


async def accept(client: TestClient[Any, Any], name: str) -> dict[str, Any]:
    response = await client.post("/api/v1/alerts", data=capture_text(name), headers=JSON)
    assert response.status == 202, await response.text()
    answer: dict[str, Any] = await response.json()
    assert set(answer) == {"status", "inbox_id"}  # no incident: it is not applied yet
    return answer


async def append_broken_entry(client: TestClient[Any, Any], now: datetime) -> int:
    """An entry in the inbox that can never be applied (its body is not JSON), as a bug
    or a damaged row would leave one: the applier retries it and holds the rest back."""

    entry_id: int = await client.app[DATABASE].append_inbox("alertmanager", "{not json", now, None)
    return entry_id


async def test_the_answer_names_an_entry_applied_in_order_behind_it(
    aiohttp_client: ClientFactory, settings: Settings, clock: Clock
) -> None:
    client = await aiohttp_client(create_app(settings, clock=clock))
    firing = await accept(client, "firing_group_3")
    clock.advance(seconds=5)
    resolved = await accept(client, "resolved_group_3")
    assert resolved["inbox_id"] > firing["inbox_id"]

    opened = await applied(client, firing)
    drafted = await applied(client, resolved)
    assert (opened["created"], opened["draft_revision"]) == (True, None)
    assert (drafted["incident_id"], drafted["created"]) == (opened["incident_id"], False)
    assert (drafted["draft_revision"], drafted["incident_status"]) == (1, "drafted")
    entry = drafted["entry"]
    assert (entry["kind"], entry["state"], entry["outcome"]) == (
        "alertmanager",
        "applied",
        "changed",
    )
    assert entry["attempts"] == 0
    assert entry["error"] is None
    assert entry["received_at"] == "2026-11-26T19:12:05Z"  # applied as of its receipt

    again = await accept(client, "resolved_group_3")  # Alertmanager's retry
    duplicate = await applied(client, again)
    assert (duplicate["status"], duplicate["incident_id"]) == ("duplicate", opened["incident_id"])
    assert duplicate["draft_revision"] is None


async def test_a_manual_event_waits_for_its_own_entry(
    aiohttp_client: ClientFactory, settings: Settings, clock: Clock
) -> None:
    client = await aiohttp_client(create_app(settings, clock=clock))
    firing = await accept(client, "firing_group_3")
    clock.advance(seconds=30)
    # posted at once: its entry comes after the webhook's, so the incident it joins is
    # the one the webhook opens, applied before the answer
    response = await client.post("/api/v1/events", data=ACK)
    assert response.status == 201, await response.text()
    answer = await response.json()
    incident_id = (await applied(client, firing))["incident_id"]
    assert (answer["status"], answer["incident_id"]) == ("recorded", incident_id)
    assert answer["incident_url"].endswith(f"/incidents/{incident_id}")
    entry = await inbox_entry(client, answer["inbox_id"])
    assert (entry["kind"], entry["state"], entry["incident_id"]) == (
        "event",
        "applied",
        incident_id,
    )
    detail = await (await client.get(f"/api/v1/incidents/{incident_id}")).json()
    assert [row["kind"] for row in detail["timeline"]].count("ack") == 1

    # the same event again (its idempotency key): a duplicate, as before
    response = await client.post("/api/v1/events", data=ACK)
    assert response.status == 200, await response.text()
    assert (await response.json())["status"] == "duplicate"


async def test_an_event_the_use_case_refuses_is_the_usual_404(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings))
    response = await client.post("/api/v1/events", data={**ACK, "service": "nothing-open"})
    assert response.status == 404, await response.text()
    answer = await response.json()
    assert answer["error"] == "no_open_incident"
    assert "nothing-open" in answer["message"]
    response = await client.post("/api/v1/events", data={**ACK, "incident_id": "4242"})
    assert response.status == 404, await response.text()
    assert (await response.json())["error"] == "not_found"


async def test_a_manual_event_answers_202_while_the_applier_is_behind(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    settings = make_settings(event_apply_wait="300ms", inbox_max_attempts=100, auth_token="t0ken")
    client = await aiohttp_client(create_app(settings, clock=clock))
    broken = await append_broken_entry(client, clock.now)
    response = await client.post(
        "/api/v1/events", data={**ACK, "type": "system-alert"}, headers=AUTH
    )
    assert response.status == 202, await response.text()
    answer = await response.json()
    assert (answer["status"], answer["applied"]) == ("accepted", False)
    assert answer["inbox_id"] > broken
    entry = await inbox_entry(client, answer["inbox_id"], headers=AUTH)
    assert (entry["state"], entry["incident_id"], entry["applied"]) == ("pending", None, False)
    held = await inbox_entry(client, broken, headers=AUTH)
    assert held["state"] == "pending"
    assert held["attempts"] >= 1
    assert "JSONDecodeError" in held["error"]
    # the review pages say what is not applied yet
    await log_in(client, secret="t0ken")
    page = await client.get("/")
    assert page.status == 200
    assert "2 条通知尚未应用，本页可能还未显示它们。" in await page.text()


async def test_an_unknown_entry_is_404(aiohttp_client: ClientFactory, settings: Settings) -> None:
    client = await aiohttp_client(create_app(settings))
    for path in ("/api/v1/inbox/1", f"/api/v1/inbox/{2**31}", "/api/v1/inbox/0"):
        response = await client.get(path)
        assert response.status == 404, path
        assert (await response.json())["error"] == "not_found"


async def test_back_pressure_answers_503_at_the_bound_and_recovers(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    # an entry the applier cannot apply holds the rest back until it is quarantined
    settings = make_settings(inbox_max_backlog=3, inbox_max_attempts=3)
    client = await aiohttp_client(create_app(settings, clock=clock))
    await append_broken_entry(client, clock.now)
    first = await accept(client, "firing_single")
    second = await accept(client, "firing_group_3")

    response = await client.post(
        "/api/v1/alerts", data=capture_text("order_mixed_jobs"), headers=JSON
    )
    assert response.status == 503, await response.text()
    refused = await response.json()
    assert refused["error"] == "inbox_full"
    assert "RECEIVER_INBOX_MAX_BACKLOG=3" in refused["message"]
    assert int(response.headers["Retry-After"]) >= 1
    metrics = await (await client.get("/metrics")).text()
    assert 'webhooks_received_total{reason="inbox_full",result="refused"} 1.0' in metrics

    # the broken entry is quarantined, the two behind it applied: room again
    assert (await applied(client, first))["created"] is True
    assert (await applied(client, second))["created"] is True

    async def retried() -> dict[str, Any] | None:
        response = await client.post(
            "/api/v1/alerts", data=capture_text("order_mixed_jobs"), headers=JSON
        )
        if response.status == 503:
            await asyncio.sleep(0.1)
            return None
        assert response.status == 202, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer

    async with asyncio.timeout(10):
        while (third := await retried()) is None:
            pass
    assert (await applied(client, third))["created"] is True


async def test_back_pressure_counts_bytes_too(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    settings = make_settings(inbox_max_backlog_bytes="1KiB", inbox_max_attempts=100)
    client = await aiohttp_client(create_app(settings, clock=clock))
    await append_broken_entry(client, clock.now)  # 9 bytes, held: nothing drains
    response = await client.post(
        "/api/v1/alerts", data=capture_text("firing_group_3"), headers=JSON
    )
    assert len(capture_text("firing_group_3").encode()) > 1024
    assert response.status == 503, await response.text()
    answer = await response.json()
    assert answer["error"] == "inbox_full"
    assert "RECEIVER_INBOX_MAX_BACKLOG_BYTES=1024" in answer["message"]


async def test_a_webhook_makes_the_applier_give_way_before_its_body_is_read(
    aiohttp_client: ClientFactory, settings: Settings, clock: Clock
) -> None:
    """The applier ends its batch soon once a webhook arrives; the route says so as the
    request begins, not once its body has been read and checked (a storm's next wave
    waited for the batch in the meantime)."""
    client = await aiohttp_client(create_app(settings, clock=clock))
    accept = client.app[SERVICE].accept
    before = accept.arrived_at
    response = await client.post("/api/v1/alerts", data="{not json", headers=JSON)
    assert response.status == 400
    assert (await response.json())["error"] == "malformed"
    assert accept.arrived_at > before
    assert accept.waiting == 0  # refused: nothing was appended
