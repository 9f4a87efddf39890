"""The OpenAPI document's part for the action items (issue 21): GET /api/v1/actions and
POST /api/v1/actions/{item_id}/status, with their schemas."""

from __future__ import annotations

from receiver.domain.action_items import ItemStatus
from receiver.domain.review import ItemPriority
from receiver.web.api.openapi_schemas import (
    BOOLEAN,
    INTEGER,
    STRING,
    Schema,
    enum,
    errors,
    json_body,
    nullable,
    obj,
    ref,
)

_DATE = {**STRING, "format": "date"}
_TIME = {**STRING, "format": "date-time"}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


def action_paths() -> dict[str, Schema]:
    return {
        "/api/v1/actions": {
            "get": {
                "operationId": "listActions",
                "tags": ["actions"],
                "summary": "Tracked action items (行动计划 and 改进措施 with an owner), by due "
                "date",
                "parameters": [
                    _query("owner", STRING, "only this owner's items"),
                    _query("service", STRING, "only items of this service's incidents"),
                    _query("status", enum(ItemStatus), "only items with this status"),
                    _query(
                        "overdue",
                        {**STRING, "enum": ["1", "true", "0", "false"]},
                        "only open items due before today (RECEIVER_TIMEZONE)",
                    ),
                ],
                "responses": {
                    "200": json_body(ref("TrackedActionItems"), "The items."),
                    **errors((401, 422, 503), notes={422: "A bad filter (`invalid_query`)."}),
                },
            }
        },
        "/api/v1/actions/{item_id}/status": {
            "post": {
                "operationId": "setActionStatus",
                "tags": ["actions"],
                "summary": "Mark an item open, done or dropped (with a reason): the same "
                "change as ticking it in the incident's form; allowed after approval",
                "parameters": [
                    {
                        "name": "item_id",
                        "in": "path",
                        "required": True,
                        "schema": {**STRING, "pattern": "^[a-z0-9]{1,32}$"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("ActionStatusChange")}},
                },
                "responses": {
                    "200": json_body(ref("TrackedActionItem"), "The item as it now is."),
                    **errors(
                        (400, 401, 404, 413, 415, 422, 503),
                        notes={
                            404: "No such action item (`not_found`).",
                            422: "An unknown status, or dropped without a reason.",
                        },
                    ),
                },
            }
        },
    }


def action_schemas() -> dict[str, Schema]:
    item = obj(
        id=STRING,
        incident_id=INTEGER,
        service=STRING,
        incident_title=STRING,
        list={**STRING, "enum": ["actions", "improvements"]},
        kind={**STRING, "description": "its subsection: the horizon or the area"},
        text=STRING,
        owner=STRING,
        due=nullable(_DATE),
        status=enum(ItemStatus),
        overdue=BOOLEAN,
        reason={**STRING, "description": "why it was dropped"},
        ticket=STRING,
        priority=nullable(enum(ItemPriority)),
        created_revision=nullable(INTEGER),
        created_at=_TIME,
        done_at=nullable(_TIME),
    )
    return {
        "TrackedActionItem": item,
        "TrackedActionItems": obj(
            today=_DATE, items={"type": "array", "items": ref("TrackedActionItem")}
        ),
        "ActionStatusChange": obj(
            "status", status=enum(ItemStatus), reason={**STRING, "maxLength": 500}
        ),
    }
