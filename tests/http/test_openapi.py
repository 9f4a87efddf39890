"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document that matches the app's routes
and what the handlers really accept and answer."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from receiver.app import create_app
from receiver.config import Settings
from receiver.domain.events import EventType
from tests.conftest import FIXTURES, capture
from tests.inbox import wait_applied

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


@pytest.fixture
async def client(aiohttp_client: ClientFactory, settings: Settings) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def document(client: TestClient[Any, Any]) -> dict[str, Any]:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    body = await response.json()
    assert isinstance(body, dict)
    return body


def schema_validator(document: dict[str, Any], name: str) -> Draft202012Validator:
    """A validator for one components schema, its `$ref`s resolved within the document."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_valid(document: dict[str, Any], name: str, instance: Any) -> None:
    problems = [error.message for error in schema_validator(document, name).iter_errors(instance)]
    assert problems == [], f"{name}: {problems}"


def test_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate(document)


def test_documents_every_api_route_and_nothing_else(
    client: TestClient[Any, Any], document: dict[str, Any]
) -> None:
    routed: dict[str, set[str]] = {}
    for route in client.app.router.routes():
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", route.resource.canonical)
        # aiohttp adds HEAD to every GET; it is not documented separately
        if path.startswith("/api/") and route.method != "HEAD":
            routed.setdefault(path, set()).add(route.method.lower())
    documented = {
        path: set(item) & METHODS
        for path, item in document["paths"].items()
        if path.startswith("/api/")
    }
    assert documented == routed
    assert {"/healthz", "/readyz", "/metrics"} <= document["paths"].keys()


def test_only_the_probes_and_metrics_are_public(document: dict[str, Any]) -> None:
    assert {"bearer", "basic"} == document["components"]["securitySchemes"].keys()
    assert document["security"] == [{"bearer": []}, {"basic": []}]
    for path, item in document["paths"].items():
        for method in item.keys() & METHODS:
            public = item[method].get("security") == []
            assert public == (not path.startswith("/api/")), (method, path)
            assert ("401" not in item[method]["responses"]) == public, (method, path)


def test_every_error_answer_is_the_error_body(document: dict[str, Any]) -> None:
    error = {"$ref": "#/components/schemas/Error"}
    for path, item in document["paths"].items():
        for method in item.keys() & METHODS:
            for status, answer in item[method]["responses"].items():
                if int(status) < 400 or (path, status) == ("/readyz", "503"):
                    continue  # readiness answers its checks, not an error
                assert answer["content"] == {"application/json": {"schema": error}}, (
                    method,
                    path,
                    status,
                )


def test_webhook_schema_accepts_a_real_alertmanager_capture(document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/v1/alerts"]["post"]
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema == {
        "oneOf": [
            {"$ref": "#/components/schemas/Webhook"},
            {"$ref": "#/components/schemas/GrafanaWebhook"},
        ]
    }
    body = capture("firing_group_3")
    assert_valid(document, "Webhook", body)
    validator = schema_validator(document, "Webhook")
    assert not validator.is_valid({**body, "version": "3"})
    assert not validator.is_valid({**body, "alerts": []})
    assert not validator.is_valid({key: value for key, value in body.items() if key != "groupKey"})


def test_grafana_schema_accepts_grafanas_documented_bodies(document: dict[str, Any]) -> None:
    for name in ("webhook_values", "webhook_value_string"):
        body = json.loads((FIXTURES / "grafana" / f"{name}.json").read_text(encoding="utf-8"))
        assert_valid(document, "GrafanaWebhook", body)
        assert not schema_validator(document, "Webhook").is_valid(body)
    validator = schema_validator(document, "GrafanaWebhook")
    assert not validator.is_valid({**body, "version": "4"})
    assert not validator.is_valid({key: value for key, value in body.items() if key != "orgId"})


def test_manual_event_schema_lists_the_event_types(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    event = schemas["ManualEvent"]
    assert event["properties"]["type"] == {"$ref": "#/components/schemas/EventType"}
    assert schemas["EventType"]["enum"] == [event_type.value for event_type in EventType]
    assert set(event["required"]) == {"type", "service", "message", "actor"}
    content = document["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded"} <= content.keys()


async def test_real_answers_match_their_documented_schemas(
    client: TestClient[Any, Any], document: dict[str, Any]
) -> None:
    response = await client.post("/api/v1/alerts", json=capture("firing_group_3"))
    assert response.status == 202
    answer = await response.json()
    assert_valid(document, "WebhookAccepted", answer)
    entry = await wait_applied(client, answer)
    assert_valid(document, "InboxEntry", entry)
    incident = entry["incident_id"]

    response = await client.post("/api/v1/alerts", json={"version": "4"})
    assert response.status == 422
    assert_valid(document, "Error", await response.json())

    event = {"type": "ack", "service": "x", "message": "on it", "actor": "me"}
    response = await client.post("/api/v1/events", data={**event, "incident_id": str(incident)})
    assert response.status == 201
    assert_valid(document, "EventResult", await response.json())

    reads = {
        "/api/v1/incidents": "IncidentList",
        f"/api/v1/incidents/{incident}": "IncidentDetail",
        f"/api/v1/incidents/{incident}/fields": "HumanFields",
        f"/api/v1/incidents/{incident}/revisions": "RevisionList",
        "/healthz": "Health",
        "/readyz": "Readiness",
    }
    for path, name in reads.items():
        response = await client.get(path)
        assert response.status == 200, path
        assert_valid(document, name, await response.json())

    response = await client.patch(f"/api/v1/incidents/{incident}", json={"owner": "me"})
    assert response.status == 200
    assert_valid(document, "FieldsSaved", await response.json())
    based = {"owner": "you", "base_revision": 0}
    assert_valid(document, "FieldsPatch", based)
    response = await client.patch(f"/api/v1/incidents/{incident}", json=based)
    assert response.status == 200  # while firing no revision is drawn: nothing to conflict
    # (the 409 edit_conflict body: tests/http/test_concurrent_edits.py)

    response = await client.post(f"/api/v1/incidents/{incident}/status", json={"status": "x"})
    assert response.status == 422
    assert_valid(document, "Error", await response.json())
