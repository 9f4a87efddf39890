"""The webhook endpoint and the read API over HTTP, on a real SQLite file."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from receiver.store.spool import spool_path
from tests.conftest import FIXTURES, Clock, capture, capture_text
from tests.inbox import applied

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
JSON = {"Content-Type": "application/json"}
HEADERS = json.loads((FIXTURES / "headers.json").read_text())


def wire_headers(kind: str) -> dict[str, str]:
    """The exact headers Alertmanager 0.25 sent, minus the ones aiohttp sets itself."""
    pairs = HEADERS[kind]["headers_in_wire_order"]
    return {name: value for name, value in pairs if name not in ("Host", "Content-Length")}


async def post(client: TestClient[Any, Any], body: str | bytes, **headers: str) -> Any:
    return await client.post("/api/v1/alerts", data=body, headers={**JSON, **headers})


async def post_applied(client: TestClient[Any, Any], body: str | bytes) -> dict[str, Any]:
    """Post a webhook (202) and wait for it to be applied: what it did."""
    response = await post(client, body)
    assert response.status == 202, await response.text()
    return await applied(client, await response.json())


async def incident_count(client: TestClient[Any, Any], **headers: str) -> int:
    response = await client.get("/api/v1/incidents", headers=headers)
    assert response.status == 200
    return int((await response.json())["total"])


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, settings: Settings, clock: Clock
) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(settings, clock=clock))


async def test_firing_then_resolved_writes_draft(
    client: TestClient[Any, Any], settings: Settings, clock: Clock
) -> None:
    created = await post_applied(client, capture_text("firing_group_3"))
    assert (created["status"], created["created"]) == ("accepted", True)
    assert created["incident_status"] == "firing"
    incident_id = created["incident_id"]

    draft = await client.get(f"/api/v1/incidents/{incident_id}/postmortem.md")
    assert draft.status == 404  # still firing: no draft yet
    assert (await draft.json())["error"] == "not_found"

    clock.advance(seconds=5)
    body = await post_applied(client, capture_text("resolved_group_3"))
    assert body["created"] is False
    assert body["incident_status"] == "drafted"
    assert body["draft_revision"] == 1

    detail = await (await client.get(f"/api/v1/incidents/{incident_id}")).json()
    assert detail["status"] == "drafted"
    assert [a["status"] for a in detail["alerts"]] == ["resolved"] * 3
    assert [row["kind"] for row in detail["timeline"]].count("all_resolved") == 1
    file_name = detail["drafts"][0]["file_name"]
    assert file_name == f"2026-11-26-{incident_id}-payments-highlatencyp99.md"

    markdown = await client.get(f"/api/v1/incidents/{incident_id}/postmortem.md")
    assert markdown.status == 200
    assert markdown.content_type == "text/markdown"
    text = await markdown.text()
    assert settings.drafts_dir is not None
    assert (settings.drafts_dir / file_name).read_text(encoding="utf-8") == text
    assert "# 事故后分析：payments P99 延迟过高（3 个实例）" in text
    assert list(settings.drafts_dir.iterdir()) == [settings.drafts_dir / file_name]


async def test_duplicate_delivery_answers_200_and_stores_nothing_new(
    client: TestClient[Any, Any],
) -> None:
    first = await post_applied(client, capture_text("ha_duplicate_peer0"))
    assert first["created"] is True
    second = await post_applied(client, capture_text("ha_duplicate_peer1"))
    assert (second["created"], second["status"]) == (False, "duplicate")
    assert await incident_count(client) == 1
    detail = await (await client.get("/api/v1/incidents/1")).json()
    assert len(detail["timeline"]) == 4  # 3 alerts fired + incident opened


BAD_BODIES: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("malformed json", b'{"version": "4", ', JSON, 400, "malformed"),
    ("empty body", b"", JSON, 400, "malformed"),
    ("invalid utf-8", b'{"receiver": "\xff\xfe"}', JSON, 400, "malformed"),
    ("deep nesting", b"[" * 50_000 + b"]" * 50_000, JSON, 400, "malformed"),
    (
        "form body",
        b"receiver=x",
        {"Content-Type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
    ),
    ("text body", b"hello", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
    ("json array", b"[]", JSON, 422, "invalid_webhook"),
]


@pytest.mark.parametrize(
    ("name", "body", "headers", "status", "code"), BAD_BODIES, ids=[case[0] for case in BAD_BODIES]
)
async def test_bad_bodies_get_clear_4xx_and_store_nothing(
    client: TestClient[Any, Any],
    name: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = await client.post("/api/v1/alerts", data=body, headers=headers)
    assert response.status == status, await response.text()
    error = await response.json()
    assert error["error"] == code
    assert error["message"]
    assert await incident_count(client) == 0
    assert (await client.get("/healthz")).status == 200


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("groupKey"), "groupKey"),
        (lambda b: b.update(version="3"), "version"),
        (lambda b: b["alerts"][0].pop("startsAt"), "alerts.0.startsAt"),
        (lambda b: b["alerts"][1].update(startsAt="yesterday"), "alerts.1.startsAt"),
        (lambda b: b["alerts"][0].update(status="pending"), "alerts.0.status"),
        (lambda b: b["alerts"][2]["labels"].update(severity=3), "alerts.2.labels.severity"),
        (lambda b: b.update(alerts=[]), "alerts"),
        (lambda b: b.update(truncatedAlerts=-1), "truncatedAlerts"),
    ],
)
async def test_invalid_webhook_names_failing_field(
    client: TestClient[Any, Any], mutate: Callable[[dict[str, Any]], Any], field: str
) -> None:
    body = capture("firing_group_3")
    mutate(body)
    response = await post(client, json.dumps(body))
    assert response.status == 422
    error = await response.json()
    assert error["error"] == "invalid_webhook"
    assert field in [detail["field"] for detail in error["details"]]
    assert await incident_count(client) == 0


async def test_body_over_limit_is_413_with_and_without_content_length(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    client = await aiohttp_client(create_app(make_settings(max_body="2KiB")))
    body = capture_text("firing_group_3").encode()
    assert len(body) > 2048
    response = await post(client, body)
    assert response.status == 413
    assert "RECEIVER_MAX_BODY" in (await response.json())["message"]

    async def chunks() -> Any:
        yield body  # no Content-Length: aiohttp stops reading at the limit

    response = await client.post("/api/v1/alerts", data=chunks(), headers=JSON)
    assert response.status == 413
    assert (await response.json())["error"] == "too_large"
    assert await incident_count(client) == 0
    small = await post_applied(client, capture_text("firing_single").encode())
    assert small["created"] is True


async def test_default_limit_takes_a_storm_body_larger_than_aiohttps_1mib(
    client: TestClient[Any, Any],
) -> None:
    body = capture("firing_group_3")
    template = body["alerts"][0]
    body["alerts"] = [
        {
            **template,
            "fingerprint": f"{i:016x}",
            "labels": {**template["labels"], "instance": f"10.1.{i // 250}.{i % 250}:9100"},
            "annotations": {**template["annotations"], "description": "x" * 300},
        }
        for i in range(2500)
    ]
    raw = json.dumps(body)
    assert len(raw) > 1024 * 1024
    response = await client.post("/api/v1/alerts", data=io.BytesIO(raw.encode()), headers=JSON)
    assert response.status == 202
    result = await applied(client, await response.json())
    detail = await (await client.get(f"/api/v1/incidents/{result['incident_id']}")).json()
    assert len(detail["alerts"]) == 2500


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token"}, 401),
        ({"Authorization": "Basic YW11c2VyOndyb25n"}, 401),  # amuser:wrong
        ({"Authorization": "Basic !!!"}, 401),
        ({"Authorization": "Token s3cr3t-token"}, 401),
        (wire_headers("bearer_token"), 202),
        (wire_headers("basic_auth"), 202),
    ],
)
async def test_auth_with_token_or_basic(
    aiohttp_client: ClientFactory,
    make_settings: Callable[..., Settings],
    headers: dict[str, str],
    status: int,
) -> None:
    settings = make_settings(
        auth_token="s3cr3t-token", basic_auth_user="amuser", basic_auth_password="ampass"
    )
    client = await aiohttp_client(create_app(settings))
    response = await client.post(
        "/api/v1/alerts", data=capture_text("firing_group_3"), headers={**JSON, **headers}
    )
    assert response.status == status
    if status == 401:
        assert (await response.json())["error"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    unauthenticated_read = await client.get("/api/v1/incidents")
    assert unauthenticated_read.status == 401
    authed = wire_headers("bearer_token")
    if status == 202:
        await applied(client, await response.json(), headers=authed)
    assert await incident_count(client, Authorization=authed["Authorization"]) == (
        1 if status == 202 else 0
    )
    assert (await client.get("/healthz")).status == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_locked_sqlite_answers_503_and_keeps_serving(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    # a short wait (SQLite's busy timeout) so the test is quick; the locks are real
    settings = make_settings(database_statement_timeout="100ms")
    client = await aiohttp_client(create_app(settings))
    await post_applied(client, capture_text("firing_single"))
    db_path = settings.database_url.removeprefix("sqlite:///")
    # the main file locked (a long write by a command, or the applier's batch): a webhook
    # is still accepted, into the inbox's own file, and applied once the lock is gone
    blocker = sqlite3.connect(db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        response = await post(client, capture_text("firing_group_3"))
        assert response.status == 202, await response.text()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert (await applied(client, await response.json()))["created"] is True
    assert await incident_count(client) == 2
    # the inbox's own file locked: where a webhook is stored, so a 503 until it is free
    blocker = sqlite3.connect(spool_path(db_path), isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        response = await post(client, capture_text("resolved_group_3"))
        assert response.status == 503
        assert (await response.json())["error"] == "store_unavailable"
        assert int(response.headers["Retry-After"]) > 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    # Alertmanager's retry goes through once the lock is gone
    assert (await post_applied(client, capture_text("resolved_group_3")))["created"] is False


async def test_postgres_down_answers_503_and_readyz_not_ready(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        database_url="postgresql://nobody@127.0.0.1:1/none", auto_migrate=False
    )
    client = await aiohttp_client(create_app(settings))
    response = await post(client, capture_text("firing_single"))
    assert response.status == 503
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert (await ready.json())["checks"]["store"].startswith("unavailable")
    assert (await client.get("/healthz")).status == 200


async def test_unknown_route_and_bad_query_are_json(client: TestClient[Any, Any]) -> None:
    missing = await client.get("/api/v1/nope")
    assert missing.status == 404
    assert (await missing.json())["error"] == "not_found"
    no_incident = await client.get("/api/v1/incidents/999")
    assert no_incident.status == 404
    assert "999" in (await no_incident.json())["message"]
    wrong_method = await client.get("/api/v1/alerts")
    assert wrong_method.status == 405
    assert (await wrong_method.json())["error"] == "method_not_allowed"
    for query in ("limit=0", "limit=abc", "status=bogus", "priority=P9", "offset=-1"):
        response = await client.get(f"/api/v1/incidents?{query}")
        assert response.status == 422, query
        assert (await response.json())["error"] == "invalid_query"


async def test_list_filters_and_pages(client: TestClient[Any, Any], clock: Clock) -> None:
    for name in ("firing_single", "firing_group_3", "order_mixed_jobs"):
        assert (await post_applied(client, capture_text(name)))["created"] is True
        clock.advance(seconds=1)
    page = await (await client.get("/api/v1/incidents?limit=2")).json()
    assert page["total"] == 3
    assert len(page["incidents"]) == 2
    rest = await (await client.get("/api/v1/incidents?limit=2&offset=2")).json()
    assert len(rest["incidents"]) == 1
    ids = {i["id"] for i in page["incidents"]} | {i["id"] for i in rest["incidents"]}
    assert len(ids) == 3
    payments = await (await client.get("/api/v1/incidents?service=payments")).json()
    assert [i["service"] for i in payments["incidents"]] == ["payments"]
    critical = await (await client.get("/api/v1/incidents?priority=P1")).json()
    assert [i["service"] for i in critical["incidents"]] == ["checkout"]


async def test_metrics_count_webhooks(client: TestClient[Any, Any]) -> None:
    await post_applied(client, capture_text("firing_single"))
    await post_applied(client, capture_text("firing_single"))  # a duplicate, stored as well
    await post(client, b"{")
    text = await (await client.get("/metrics")).text()
    assert 'postmortem_receiver_webhooks_received_total{reason="",result="accepted"} 2.0' in text
    assert (
        'postmortem_receiver_webhooks_received_total{reason="malformed",result="rejected"} 1.0'
        in text
    )
    assert 'postmortem_receiver_incidents_opened_total{severity="P1"} 1.0' in text


def test_draft_dir_is_created_lazily(settings: Settings) -> None:
    assert settings.drafts_dir is not None
    assert not Path(settings.drafts_dir).exists()


async def test_inputs_the_fuzzer_found(client: TestClient[Any, Any]) -> None:
    """Each of these once answered 5xx (found by tests/system/test_fuzz_api.py)."""
    for path in (
        "/api/v1/incidents/9223372036854775808",
        "/api/v1/incidents/2147483648",
        "/api/v1/incidents/2147483648/postmortem.md?revision=1",
        "/api/v1/incidents/0/fields",
    ):
        response = await client.get(path)
        assert response.status == 404, path
    event = {"type": "note", "service": "x", "message": "m", "actor": "a"}
    too_big = await client.post("/api/v1/events", json={**event, "incident_id": 2**31})
    assert too_big.status == 422
    long_key = await client.post("/api/v1/events", json={**event, "idempotency_key": "k" * 195})
    assert long_key.status == 422
    no_boundary = await client.post(
        "/api/v1/events", data=b"{}", headers={"Content-Type": "multipart/form-data"}
    )
    assert no_boundary.status == 400
    assert (await no_boundary.json())["error"] == "malformed"
    nul = await client.get("/api/v1/incidents?service=%00")
    assert nul.status == 422
    wrong_method = await client.delete("/api/v1/alerts")
    assert wrong_method.status == 405
    assert "POST" in wrong_method.headers["Allow"]
    body = capture("firing_single")
    body["alerts"][0]["fingerprint"] = "f" * 65
    assert (await post(client, json.dumps(body))).status == 422


async def test_alerts_held_by_two_incidents_stay_where_they_are(
    client: TestClient[Any, Any],
) -> None:
    """A regrouping in Alertmanager merges two groups into one notification."""
    first, second = capture("firing_single"), capture("firing_single")
    second["groupKey"] = '{}:{alertname="Other"}'
    second["alerts"][0]["fingerprint"] = "00000000000000aa"
    assert (await post_applied(client, json.dumps(first)))["created"] is True
    assert (await post_applied(client, json.dumps(second)))["created"] is True
    merged = capture("firing_single")
    merged["groupKey"] = "{}:{}"
    merged["alerts"] = [first["alerts"][0], second["alerts"][0]]
    assert (await post_applied(client, json.dumps(merged)))["status"] == "duplicate"
    assert await incident_count(client) == 2
