"""The OpenAPI document's part for the change feeds (issue 20): POST
/api/v1/changes/{source}, GET /api/v1/changes, and their response schemas."""

from __future__ import annotations

from receiver.domain.changes import ChangeSource, ChangeType
from receiver.web import params
from receiver.web.api.openapi_schemas import (
    INTEGER,
    LABELS,
    STRING,
    TIME,
    Schema,
    enum,
    errors,
    json_body,
    nullable,
    obj,
    ref,
)

_PROOFS = (
    "Each feed proves itself its own documented way, with its own secret, instead of the "
    "API's credentials: `flux` an `X-Signature: <sha224|sha256|sha384|sha512>=<hex HMAC of "
    "the body>` (a generic-hmac Provider; RECEIVER_CHANGES_FLUX_SECRET), `github` "
    "`X-Hub-Signature-256: sha256=<hex>` (RECEIVER_CHANGES_GITHUB_SECRET), `gitlab` "
    "`X-Gitlab-Token` (RECEIVER_CHANGES_GITLAB_TOKEN), `argocd` and `kubernetes` a bearer "
    "token (RECEIVER_CHANGES_ARGOCD_TOKEN, RECEIVER_CHANGES_KUBERNETES_TOKEN). `manual` "
    "takes the API's credentials and a `ManualChange`."
)


def change_paths() -> dict[str, Schema]:
    return {
        "/api/v1/changes/{source}": {
            "post": {
                "operationId": "postChange",
                "tags": ["changes"],
                "summary": "A change to a service (deploy, config, rollback, scale) from "
                "Flux, Argo CD, GitHub, GitLab, Kubernetes events, or a person",
                "description": _PROOFS + " A verified body that is no finished change (a "
                "GitHub ping, a failed sync, a pod event) is answered 200 `ignored`. A change "
                "is stored in the inbox and applied behind the answer, once per its "
                "source's own id: a replayed delivery changes nothing.",
                "parameters": [
                    {
                        "name": "source",
                        "in": "path",
                        "required": True,
                        "schema": enum(ChangeSource),
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "description": "the feed's own body; for `manual` a ManualChange",
                                "oneOf": [ref("ManualChange"), {"type": "object"}],
                            }
                        },
                        # alert-webhook.sh deploy|config posts a form (manual only)
                        "application/x-www-form-urlencoded": {"schema": ref("ManualChange")},
                    },
                },
                "responses": {
                    "202": json_body(
                        ref("ChangeAccepted"), "Stored in the inbox; applied behind the answer."
                    ),
                    "200": json_body(ref("ChangeIgnored"), "Verified, but no change to keep."),
                    **errors(
                        (400, 401, 404, 408, 413, 415, 422, 503),
                        notes={
                            401: "The feed's signature or token is missing or wrong "
                            "(`invalid_signature`), or the feed is off: its secret is not "
                            "set, and the message names the setting (`not_configured`); for "
                            "`manual`, the API's credentials (`unauthenticated`).",
                            404: "No such feed (`not_found`).",
                            422: "The body is not what the feed sends (`invalid_change`); "
                            "`details` names each field.",
                        },
                    ),
                },
            }
        },
        "/api/v1/changes": {
            "get": {
                "operationId": "listChanges",
                "tags": ["changes"],
                "summary": "Recent changes to services, newest first",
                "parameters": [
                    _query("service", STRING, "only this service's changes"),
                    _query(
                        "since",
                        {**STRING, "format": "date-time"},
                        "only changes that started at or after this time (with a zone)",
                    ),
                    _query("limit", params.LIMIT.schema(default=50), "at most this many"),
                ],
                "responses": {
                    "200": json_body(ref("ChangeList"), "The changes."),
                    **errors((401, 422, 503), notes={422: "A bad query value (`invalid_query`)."}),
                },
            }
        },
    }


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


def change_schemas() -> dict[str, Schema]:
    text = nullable(STRING)
    return {
        "ChangeAccepted": obj(
            status=enum(("accepted",)), inbox_id=INTEGER, source=enum(ChangeSource)
        ),
        "ChangeIgnored": obj(status=enum(("ignored",)), reason=STRING),
        "Change": obj(
            id=INTEGER,
            source=enum(ChangeSource),
            source_id={**STRING, "description": "the source's own id: stored once per it"},
            type=enum(ChangeType),
            service=STRING,
            summary=STRING,
            namespace=text,
            cluster=text,
            object_kind=text,
            object_name=text,
            from_version=text,
            to_version=text,
            actor=text,
            started_at=TIME,
            finished_at=nullable(TIME),
            link=text,
            labels=LABELS,
        ),
        "ChangeList": obj(changes={"type": "array", "items": ref("Change")}, limit=INTEGER),
    }
