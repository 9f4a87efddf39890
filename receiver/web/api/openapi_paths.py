"""The OpenAPI document's paths: each route, its parameters, bodies and answers."""

from __future__ import annotations

from typing import Final

from receiver.domain.incident import PRIORITY_ORDER, IncidentStatus
from receiver.store.policy import FILTERS as POSTMORTEM_FILTERS
from receiver.web import params
from receiver.web.api.openapi_actions import action_paths
from receiver.web.api.openapi_kpi import kpi_path
from receiver.web.api.openapi_schemas import (
    PUBLIC,
    STRING,
    Schema,
    enum,
    errors,
    json_body,
    rate_limited,
    ref,
)


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
                "RECEIVER_GRAFANA_SIGNATURE_SECRET is set. The answer comes once the body is "
                "durably stored in the inbox; its effects (incident, timeline, draft, "
                "messages) are applied behind it, in order: GET /api/v1/inbox/{inbox_id}.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"oneOf": [ref("Webhook"), ref("GrafanaWebhook")]}
                        }
                    },
                },
                "responses": {
                    "202": json_body(
                        ref("WebhookAccepted"), "Stored in the inbox; applied behind the answer."
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
                            503: "The database is unavailable or too slow "
                            "(`store_unavailable`), or the backlog of accepted, not yet "
                            "applied input is at RECEIVER_INBOX_MAX_BACKLOG or "
                            "RECEIVER_INBOX_MAX_BACKLOG_BYTES (`inbox_full`); retry after "
                            "`Retry-After` seconds.",
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
                "are not given. The event is stored in the inbox first, then the answer waits "
                "up to RECEIVER_EVENT_APPLY_WAIT for it to be applied.",
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
                    "202": json_body(
                        ref("EventAccepted"),
                        "Stored, but not applied within RECEIVER_EVENT_APPLY_WAIT (the "
                        "applier is behind): GET /api/v1/inbox/{inbox_id} says when it is.",
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
        "/api/v1/inbox/{inbox_id}": {
            "parameters": [
                {
                    "name": "inbox_id",
                    "in": "path",
                    "required": True,
                    "schema": params.INBOX_ID.schema(),
                }
            ],
            "get": {
                "operationId": "getInboxEntry",
                "tags": ["alerts"],
                "summary": "Whether an accepted webhook or event was applied, and to which "
                "incident",
                "responses": {
                    "200": json_body(ref("InboxEntry"), "The entry (never its body)."),
                    **errors((401, 404, 503), notes={404: "No such entry (`not_found`)."}),
                },
            },
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
                    query(
                        "postmortem",
                        enum(POSTMORTEM_FILTERS),
                        "by the postmortem policy's verdict (services with SLOs): required, "
                        "not_needed (no_postmortem_needed), pending, or wanted (all but "
                        "not_needed)",
                    ),
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
                        media: {"schema": ref("FieldsPatch")}
                        for media in ("application/json", "application/merge-patch+json")
                    },
                },
                "responses": {
                    "200": json_body(ref("FieldsSaved"), "Saved; all fields as they are now."),
                    **errors(
                        (400, 401, 404, 408, 409, 413, 415, 422, 503),
                        notes={
                            409: "The postmortem is approved (`conflict`), or a field this "
                            "edit changes was changed by someone else since `base_revision` "
                            "(`edit_conflict`, with `conflicts` and `draft_revision`; "
                            "nothing is stored).",
                            422: "Unknown or invalid fields (`invalid_fields`), or a "
                            "`base_revision` that is no revision number "
                            "(`invalid_base_revision`).",
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
                            409: "Not a move the lifecycle allows from here (`conflict`), "
                            "or approval while required parts are empty and no "
                            "`override_reason` (`incomplete`, with `missing`).",
                            422: "No known status given (`invalid_status`), or an "
                            "`override_reason` that is not short text (`invalid_override_reason`).",
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
        incident + "/promote": {
            "parameters": [INCIDENT_ID],
            "post": {
                "operationId": "promoteIncident",
                "tags": ["review"],
                "summary": "Mark an incident the postmortem policy let go "
                "(no_postmortem_needed) as requiring a postmortem; a new draft revision by "
                "the caller, kept over later evaluations",
                "responses": {
                    "200": json_body(ref("Promoted"), "Marked (or already required)."),
                    **errors(
                        (401, 404, 409, 503),
                        notes={
                            409: "The incident's service has no SLOs, so the policy did not "
                            "judge it, or it is approved (`conflict`).",
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
        "/api/v1/kpi": kpi_path(),
        **action_paths(),
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
