"""The OpenAPI document's building blocks: schema helpers, error answers, and the
schemas of request models and of the response bodies (after receiver/web/serialize.py)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel

from receiver.domain.completeness import CHECKS
from receiver.domain.incident import PRIORITY_ORDER, EntryKind, IncidentStatus, Phase, Source
from receiver.domain.review import MAX_OVERRIDE_REASON

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


def fields_patch(human_fields: Schema) -> Schema:
    """The PATCH body: any of the human fields, and the revision the edit is based on."""
    return {
        **human_fields,
        "title": "FieldsPatch",
        "properties": {
            **human_fields["properties"],
            "base_revision": {
                "type": "integer",
                "minimum": 0,
                "maximum": 2**31 - 1,
                "description": "the draft revision this edit is based on: fields others "
                "changed since are kept; one this edit changes too is a 409 edit_conflict",
            },
        },
    }


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
            missing={
                "type": "array",
                "items": enum(tuple(CHECKS)),
                "description": "only with `incomplete`: the required parts still empty",
            },
            conflicts={
                "type": "array",
                "items": obj(field=STRING, current={}, yours={}),
                "description": "only with `edit_conflict`: each field someone else changed "
                "since `base_revision`, with its value now and the value this edit wanted",
            },
            draft_revision={
                **INTEGER,
                "description": "only with `edit_conflict`: the latest draft revision, to "
                "base the next attempt on",
            },
        ),
        "WebhookAccepted": obj(
            status=enum(("accepted",)),
            inbox_id={
                **INTEGER,
                "description": "the inbox entry; GET /api/v1/inbox/{inbox_id} says when it "
                "was applied and to which incident",
            },
        ),
        "EventResult": obj(
            status=enum(("recorded", "duplicate")),
            inbox_id=INTEGER,
            incident_url={**STRING, "format": "uri"},
            **outcome,
        ),
        "EventAccepted": obj(
            status=enum(("accepted",)),
            inbox_id=INTEGER,
            applied={**BOOLEAN, "description": "always false: not yet applied"},
        ),
        "InboxEntry": obj(
            "id kind received_at state applied incident_id outcome created draft_revision "
            "applied_at attempts error quarantined_at",
            id=INTEGER,
            kind=enum(("alertmanager", "grafana", "event")),
            received_at=TIME,
            state={
                **enum(("pending", "applied", "refused", "quarantined")),
                "description": "refused: an event naming no incident (`error` says why); "
                "quarantined: its application kept failing (`postmortem-receiver inbox`)",
            },
            applied={**BOOLEAN, "description": "applied or refused: nothing more will happen"},
            incident_id=nullable(INTEGER),
            outcome=nullable(
                enum(("created", "changed", "unchanged", "no_open_incident", "not_found"))
            ),
            created={**BOOLEAN, "description": "it opened the incident"},
            draft_revision=nullable(INTEGER),
            applied_at=nullable(TIME),
            attempts={**INTEGER, "description": "failed applications so far"},
            error=nullable(STRING),
            quarantined_at=nullable(TIME),
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
                    completeness=ref("Completeness"),
                    approval_override={
                        **nullable(STRING),
                        "description": "why it was approved with required parts empty",
                    },
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
            "status",
            status={
                "type": "string",
                "enum": ["in_review", "approved"],
                "description": "drafted → in_review → approved, and approved → in_review; "
                "another move is a 409, another status a 422",
            },
            override_reason={
                "type": "string",
                "maxLength": MAX_OVERRIDE_REASON,
                "description": "approve although required parts are empty (RECEIVER_APPROVAL_"
                "REQUIRED); recorded in the audit log and the draft",
            },
        ),
        "Completeness": obj(
            filled={**INTEGER, "description": "parts of the draft people have filled"},
            total={**INTEGER, "description": "parts only people can fill"},
            missing={
                "type": "array",
                "items": enum(tuple(CHECKS)),
                "description": "the parts still empty, in the template's order",
            },
        ),
        "StatusChanged": obj(
            incident_id=INTEGER, status=enum(IncidentStatus), draft_revision=nullable(INTEGER)
        ),
        "EvidenceRefreshed": obj(incident_id=INTEGER, draft_revision=INTEGER),
        "Promoted": obj(
            incident_id=INTEGER, postmortem=enum(("required",)), draft_revision=INTEGER
        ),
        "Health": obj(status=enum(("ok",))),
        "Readiness": obj(
            "status",
            status=enum(("ready", "not_ready")),
            checks={**LABELS, "description": 'store and schema: "ok" or why not'},
            inbox={
                **obj(backlog=INTEGER, lag_seconds={"type": "number"}, quarantined=INTEGER),
                "description": "what waits in the inbox (not part of readiness): entries "
                "not yet applied, the age of the oldest in seconds, entries quarantined",
            },
        ),
    }
