"""GET /api/v1/openapi.json: the API as an OpenAPI 3.1 document, built once at import.

Request bodies come from the pydantic models the handlers validate with, so they cannot
drift; response bodies are written here after receiver/web/serialize.py and the handlers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel

from receiver import __version__
from receiver.alertmanager.grafana import GrafanaWebhook
from receiver.alertmanager.webhook import Webhook
from receiver.events import ManualEvent
from receiver.incidents import PRIORITY_ORDER, EntryKind, IncidentStatus, Phase, Source
from receiver.review import HumanFields
from receiver.web import params

Schema = dict[str, Any]

STRING: Final[Schema] = {"type": "string"}
INTEGER: Final[Schema] = {"type": "integer"}
BOOLEAN: Final[Schema] = {"type": "boolean"}
TIME: Final[Schema] = {"type": "string", "format": "date-time", "description": "UTC, RFC 3339"}
LABELS: Final[Schema] = {"type": "object", "additionalProperties": STRING}
PUBLIC: Final[list[Schema]] = []

ERROR_TEXT: Final[Mapping[int, str]] = {
    400: "The body is empty, not UTF-8 or not JSON, or cannot be read: a broken chunk or "
    "compressed stream, a malformed form (`malformed`).",
    401: "Credentials are configured and the request has none or wrong ones (`unauthenticated`).",
    404: "No such incident (`not_found`).",
    408: "The body did not arrive within RECEIVER_BODY_READ_TIMEOUT (`body_timeout`).",
    409: "The review lifecycle does not allow this (`conflict`).",
    413: "The body exceeds RECEIVER_MAX_BODY (`too_large`).",
    415: "The Content-Type is not JSON, or names an unknown charset (`unsupported_media_type`).",
    422: "The body or query is well-formed but not valid; `details` names each field.",
    429: "Too many wrong credentials from this address, or more manual events a minute "
    "than RECEIVER_EVENT_RATE (`rate_limited`); `Retry-After` says when to try again.",
    503: "The database is unavailable or too slow; retry after `Retry-After` seconds "
    "(`store_unavailable`).",
}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def enum(values: type[StrEnum] | tuple[str, ...]) -> Schema:
    return {"type": "string", "enum": [str(value) for value in values]}


def obj(required: str | None = None, /, **properties: Schema) -> Schema:
    """An object with these properties, all required unless `required` names them."""
    names = list(properties) if required is None else required.split()
    return {"type": "object", "required": names, "properties": properties}


def json_body(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(codes: tuple[int, ...], notes: Mapping[int, str] | None = None) -> dict[str, Schema]:
    answers = {}
    for code in codes:
        answer = json_body(ref("Error"), (notes or {}).get(code, ERROR_TEXT[code]))
        if code == 401:
            answer["headers"] = {"WWW-Authenticate": {"schema": STRING}}
        if code == 503:
            answer["headers"] = {"Retry-After": {"schema": INTEGER}}
        answers[str(code)] = answer
    if 401 in codes:  # whatever checks credentials refuses an address that keeps failing
        answers["429"] = rate_limited()
    return answers


def rate_limited() -> Schema:
    answer = json_body(ref("Error"), ERROR_TEXT[429])
    answer["headers"] = {"Retry-After": {"schema": INTEGER, "description": "seconds"}}
    return answer


def model_schemas(*models: type[BaseModel]) -> dict[str, Schema]:
    """Each model's JSON schema and its `$defs`, all under components/schemas."""
    schemas: dict[str, Schema] = {}
    for model in models:
        schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        for name, definition in {**schema.pop("$defs", {}), model.__name__: schema}.items():
            assert schemas.get(name, definition) == definition, f"two schemas named {name}"
            schemas[name] = definition
    return schemas


def response_schemas() -> dict[str, Schema]:
    outcome = {
        "incident_id": INTEGER,
        "incident_status": enum(IncidentStatus),
        "created": {**BOOLEAN, "description": "this delivery opened the incident"},
        "draft_revision": nullable(INTEGER),
    }
    return {
        "Error": obj(
            "error message",
            error={**STRING, "description": "a stable code, e.g. invalid_webhook"},
            message={**STRING, "description": "for people; names the first failing field"},
            details={
                "type": "array",
                "items": obj(field=STRING, message=STRING),
                "description": "every failing field; absent when there are none",
            },
        ),
        "WebhookResult": obj(status=enum(("accepted", "duplicate")), **outcome),
        "EventResult": obj(
            status=enum(("recorded", "duplicate")),
            incident_url={**STRING, "format": "uri"},
            **outcome,
        ),
        "IncidentSummary": obj(
            id=INTEGER,
            title=STRING,
            priority=enum(PRIORITY_ORDER),
            status=enum(IncidentStatus),
            service=STRING,
            receiver=STRING,
            group_key=STRING,
            group_labels=LABELS,
            started_at=TIME,
            ended_at=nullable(TIME),
            opened_at=TIME,
            updated_at=TIME,
            cycle={**INTEGER, "description": "how many times the incident fired again"},
        ),
        "IncidentList": obj(
            incidents={"type": "array", "items": ref("IncidentSummary")},
            total=INTEGER,
            limit=INTEGER,
            offset=INTEGER,
        ),
        "IncidentDetail": {
            "allOf": [
                ref("IncidentSummary"),
                obj(
                    alerts={"type": "array", "items": ref("AlertEpisode")},
                    timeline={"type": "array", "items": ref("TimelineEntry")},
                    drafts={"type": "array", "items": ref("DraftSummary")},
                ),
            ]
        },
        "AlertEpisode": obj(
            fingerprint=STRING,
            status=enum(("firing", "resolved")),
            starts_at=TIME,
            ends_at=nullable(TIME),
            labels=LABELS,
            annotations=LABELS,
            generator_url=STRING,
        ),
        "TimelineEntry": obj(
            at=TIME,
            phase=enum(Phase),
            kind=enum(EntryKind),
            source=enum(Source),
            actor={**nullable(STRING), "description": "null: the receiver itself"},
            subject=STRING,
            note=STRING,
            detail=STRING,
        ),
        "DraftSummary": obj(
            revision=INTEGER, language=STRING, file_name=STRING, created_at=TIME, updated_at=TIME
        ),
        "RevisionList": obj(
            incident_id=INTEGER,
            revisions={
                "type": "array",
                "items": obj(
                    revision=INTEGER,
                    created_at=TIME,
                    updated_at=TIME,
                    created_by={**nullable(STRING), "description": "null: the receiver"},
                    file_name=STRING,
                ),
            },
        ),
        "FieldsSaved": obj(
            incident_id=INTEGER, draft_revision=nullable(INTEGER), fields=ref("HumanFields")
        ),
        "StatusChange": obj(
            status={
                "type": "string",
                "enum": ["in_review", "approved"],
                "description": "drafted → in_review → approved, and approved → in_review; "
                "another move is a 409, another status a 422",
            }
        ),
        "StatusChanged": obj(
            incident_id=INTEGER, status=enum(IncidentStatus), draft_revision=nullable(INTEGER)
        ),
        "EvidenceRefreshed": obj(incident_id=INTEGER, draft_revision=INTEGER),
        "Health": obj(status=enum(("ok",))),
        "Readiness": obj(
            "status",
            status=enum(("ready", "not_ready")),
            checks={**LABELS, "description": 'store and schema: "ok" or why not'},
        ),
    }


def query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


INCIDENT_ID: Final[Schema] = {
    "name": "incident_id",
    "in": "path",
    "required": True,
    "schema": params.INCIDENT_ID.schema(),
}


def paths() -> dict[str, Schema]:
    incident = "/api/v1/incidents/{incident_id}"
    return {
        "/api/v1/alerts": {
            "post": {
                "operationId": "receiveAlerts",
                "tags": ["alerts"],
                "summary": "Alertmanager webhook (version 4) or Grafana's webhook contact "
                "point (version 1): one notification of one group",
                "description": "The body is recognised by its `version`. A Grafana body must "
                "carry a valid `X-Grafana-Alerting-Signature` when "
                "RECEIVER_GRAFANA_SIGNATURE_SECRET is set.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"oneOf": [ref("Webhook"), ref("GrafanaWebhook")]}
                        }
                    },
                },
                "responses": {
                    "201": json_body(ref("WebhookResult"), "Stored; it opened a new incident."),
                    "200": json_body(
                        ref("WebhookResult"),
                        "Stored against an existing incident (`accepted`), or this exact "
                        "body was already received (`duplicate`).",
                    ),
                    **errors(
                        (400, 401, 408, 413, 415, 422, 503),
                        notes={
                            401: "Credentials are configured and the request has none or "
                            "wrong ones (`unauthenticated`), or a Grafana body's signature "
                            "is missing or wrong (`invalid_signature`).",
                            413: "The body exceeds RECEIVER_MAX_BODY, or holds more alerts "
                            "than RECEIVER_MAX_ALERTS (`too_large`).",
                            422: "Neither an Alertmanager version 4 webhook nor a Grafana "
                            "webhook (`invalid_webhook`).",
                        },
                    ),
                },
            }
        },
        "/api/v1/events": {
            "post": {
                "operationId": "postEvent",
                "tags": ["events"],
                "summary": "Record what a person did (alert-webhook.sh posts a form)",
                "description": "The event goes to `incident_id`, else to the service's open "
                "incident, else (except `system-alert`) its recently ended one; "
                "`system-alert` with none opens an incident. In a form, empty fields "
                "are not given.",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {**STRING, "maxLength": 200},
                        "description": "used when the body has no idempotency_key",
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        media: {"schema": ref("ManualEvent")}
                        for media in (
                            "application/json",
                            "application/x-www-form-urlencoded",
                            "multipart/form-data",
                        )
                    },
                },
                "responses": {
                    "201": json_body(ref("EventResult"), "Recorded."),
                    "200": json_body(
                        ref("EventResult"), "Already recorded under this idempotency key."
                    ),
                    **errors(
                        (400, 401, 404, 408, 413, 415, 422, 503),
                        notes={
                            404: "No incident with that `incident_id` (`not_found`), or no "
                            "open or recent incident of the service (`no_open_incident`).",
                            415: "Neither JSON nor a form, or an unknown charset "
                            "(`unsupported_media_type`).",
                            422: "Not a valid event, e.g. an unknown type (`invalid_event`).",
                        },
                    ),
                },
            }
        },
        "/api/v1/incidents": {
            "get": {
                "operationId": "listIncidents",
                "tags": ["incidents"],
                "summary": "Incidents, newest first",
                "parameters": [
                    query("status", enum(IncidentStatus), "only incidents in this status"),
                    query("service", STRING, "only incidents of this service"),
                    query("priority", enum(PRIORITY_ORDER), "only incidents of this priority"),
                    query("limit", params.LIMIT.schema(default=50), ""),
                    query("offset", params.OFFSET.schema(default=0), ""),
                ],
                "responses": {
                    "200": json_body(ref("IncidentList"), "One page and the total."),
                    **errors((401, 422, 503), notes={422: "A bad query value (`invalid_query`)."}),
                },
            }
        },
        incident: {
            "parameters": [INCIDENT_ID],
            "get": {
                "operationId": "getIncident",
                "tags": ["incidents"],
                "summary": "One incident with its alerts, timeline and draft revisions",
                "responses": {
                    "200": json_body(ref("IncidentDetail"), "The incident."),
                    **errors((401, 404, 503)),
                },
            },
            "patch": {
                "operationId": "patchFields",
                "tags": ["review"],
                "summary": "Replace the given human fields (lists whole); a new draft revision",
                "requestBody": {
                    "required": True,
                    "content": {
                        media: {"schema": ref("HumanFields")}
                        for media in ("application/json", "application/merge-patch+json")
                    },
                },
                "responses": {
                    "200": json_body(ref("FieldsSaved"), "Saved; all fields as they are now."),
                    **errors(
                        (400, 401, 404, 408, 409, 413, 415, 422, 503),
                        notes={
                            409: "The postmortem is approved (`conflict`).",
                            422: "Unknown or invalid fields (`invalid_fields`).",
                        },
                    ),
                },
            },
        },
        incident + "/fields": {
            "parameters": [INCIDENT_ID],
            "get": {
                "operationId": "getFields",
                "tags": ["review"],
                "summary": "The human fields (all of them, empty when never saved)",
                "responses": {
                    "200": json_body(ref("HumanFields"), "The fields."),
                    **errors((401, 404, 503)),
                },
            },
        },
        incident + "/status": {
            "parameters": [INCIDENT_ID],
            "post": {
                "operationId": "postStatus",
                "tags": ["review"],
                "summary": "Move the review along: in_review, approved, or back to in_review",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("StatusChange")}},
                },
                "responses": {
                    "200": json_body(ref("StatusChanged"), "Moved."),
                    **errors(
                        (400, 401, 404, 408, 409, 413, 415, 422, 503),
                        notes={
                            409: "Not a move the lifecycle allows from here (`conflict`).",
                            422: "No known status given (`invalid_status`).",
                        },
                    ),
                },
            },
        },
        incident + "/evidence": {
            "parameters": [INCIDENT_ID],
            "post": {
                "operationId": "refreshEvidence",
                "tags": ["review"],
                "summary": "Fetch the incident's evidence from Prometheus again; a new draft "
                "revision (what Prometheus could not answer is named in the draft)",
                "responses": {
                    "200": json_body(ref("EvidenceRefreshed"), "Fetched and rendered."),
                    **errors(
                        (401, 404, 409, 503),
                        notes={
                            409: "No Prometheus configured (`not_configured`), the incident "
                            "is still firing or approved (`conflict`).",
                        },
                    ),
                },
            },
        },
        incident + "/revisions": {
            "parameters": [INCIDENT_ID],
            "get": {
                "operationId": "listRevisions",
                "tags": ["review"],
                "summary": "The draft's revisions and who made each",
                "responses": {
                    "200": json_body(ref("RevisionList"), "Oldest first."),
                    **errors((401, 404, 503)),
                },
            },
        },
        incident + "/postmortem.md": {
            "parameters": [INCIDENT_ID],
            "get": {
                "operationId": "getPostmortem",
                "tags": ["incidents"],
                "summary": "The draft postmortem as Markdown",
                "parameters": [
                    query(
                        "revision", params.REVISION.schema(), "this revision instead of the latest"
                    )
                ],
                "responses": {
                    "200": {
                        "description": "The draft.",
                        "headers": {"Content-Disposition": {"schema": STRING}},
                        "content": {"text/markdown": {"schema": STRING}},
                    },
                    **errors(
                        (401, 404, 422, 503),
                        notes={
                            404: "No such incident, no draft yet (still firing) or no such "
                            "revision (`not_found`).",
                            422: "A bad revision (`invalid_query`).",
                        },
                    ),
                },
            },
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenAPI",
                "tags": ["meta"],
                "summary": "This document",
                "responses": {
                    "200": json_body({"type": "object"}, "OpenAPI 3.1."),
                    **errors((401,)),
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "tags": ["meta"],
                "summary": "Liveness",
                "security": PUBLIC,
                "responses": {"200": json_body(ref("Health"), "The process answers.")},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "tags": ["meta"],
                "summary": "Readiness: the database answers and its schema is current",
                "description": "Public for probes, which get only `status`; `checks` (what "
                "is wrong) only with the API's credentials.",
                "security": PUBLIC,
                "responses": {
                    "200": json_body(ref("Readiness"), "Ready."),
                    "503": json_body(ref("Readiness"), "Not ready; `checks` says why."),
                    "429": rate_limited(),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "tags": ["meta"],
                "summary": "Prometheus metrics",
                "description": "Public unless RECEIVER_METRICS_PUBLIC is false; then it needs "
                "the API's credentials.",
                "security": PUBLIC,
                "responses": {
                    "200": {
                        "description": "Prometheus text exposition format.",
                        "content": {"text/plain": {"schema": STRING}},
                    }
                },
            }
        },
    }


def build() -> Schema:
    """A fresh copy of the document."""
    schemas = model_schemas(Webhook, GrafanaWebhook, ManualEvent, HumanFields)
    written = response_schemas()
    assert not schemas.keys() & written.keys(), "a response schema shadows a model's"
    schemas.update(written)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "postmortem-receiver",
            "version": __version__,
            "description": "Alertmanager webhooks in, draft postmortems out. Every error "
            "is JSON (`Error`). /api/ needs bearer or basic credentials when either is "
            "configured (a trusted proxy's user header also counts; with none configured "
            "the API is open); `X-Actor` names on whose behalf a credentialed caller acts.",
        },
        "security": [{"bearer": []}, {"basic": []}],
        "paths": paths(),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "RECEIVER_AUTH_TOKEN",
                },
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "RECEIVER_BASIC_AUTH_*",
                },
            },
        },
    }


_BODY: Final[bytes] = json.dumps(build(), ensure_ascii=False).encode()


async def document(request: web.Request) -> web.Response:
    return web.Response(body=_BODY, content_type="application/json", charset="utf-8")
