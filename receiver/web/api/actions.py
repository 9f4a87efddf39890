"""Action items as JSON (issue 21): GET /api/v1/actions?owner=&service=&status=&overdue=,
and POST /api/v1/actions/{item_id}/status to mark one open, done or dropped."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web

from receiver.domain.action_items import (
    DropReasonMissing,
    ItemNotFound,
    ItemStatus,
    is_overdue,
)
from receiver.store.action_items import ItemRow
from receiver.web.action_filters import ActionFilters
from receiver.web.body import read_json
from receiver.web.errors import ApiError
from receiver.web.identity import IDENTITY
from receiver.web.keys import SERVICE, SETTINGS
from receiver.web.pages.ui_text import UI
from receiver.web.serialize import json_response

ITEM_ID_PATTERN = "[a-z0-9]{1,32}"


def item_json(row: ItemRow, today: date) -> dict[str, Any]:
    item = row.item
    return {
        "id": item.id,
        "incident_id": item.incident_id,
        "service": row.service,
        "incident_title": row.incident_title,
        "list": item.list_name,
        "kind": item.kind,
        "text": item.text,
        "owner": item.owner,
        "due": item.due.isoformat() if item.due else None,
        "status": item.status.value,
        "overdue": is_overdue(item.due, item.status, today),
        "reason": item.reason,
        "ticket": item.ticket,
        "priority": item.priority or None,
        "created_revision": row.created_revision,
        "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
        "done_at": row.done_at.isoformat().replace("+00:00", "Z") if row.done_at else None,
    }


async def list_actions(request: web.Request) -> web.Response:
    filters = ActionFilters.of(request)
    actions = request.app[SERVICE].actions
    today = actions.today()
    rows = await actions.find(filters.wanted(today))
    return json_response({"today": today.isoformat(), "items": [item_json(r, today) for r in rows]})


async def post_item_status(request: web.Request) -> web.Response:
    language = request.app[SETTINGS].language
    data, _ = await read_json(request, request.app[SETTINGS].max_body)
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        raise ApiError(422, "invalid_status", UI[language]["bad_item_status"])
    reason = data.get("reason", "")
    if not isinstance(reason, str):
        raise ApiError(422, "invalid_reason", UI[language]["drop_needs_reason"])
    status = item_status(data["status"], language)
    item_id = request.match_info["item_id"]
    actions = request.app[SERVICE].actions
    await change_status(request, item_id, status, reason)
    row = await actions.find_one(item_id)
    return json_response(item_json(row, actions.today()))


def item_status(raw: str, language: str) -> ItemStatus:
    if raw not in {s.value for s in ItemStatus}:
        raise ApiError(422, "invalid_status", UI[language]["bad_item_status"])
    return ItemStatus(raw)


async def change_status(request: web.Request, item_id: str, status: ItemStatus, reason: str) -> int:
    """The status change both the API and the pages make; its incident's id."""
    language = request.app[SETTINGS].language
    try:
        return await request.app[SERVICE].actions.set_status(
            item_id, status, reason, request[IDENTITY].user
        )
    except ItemNotFound as exc:
        raise ApiError(404, "not_found", UI[language]["item_not_found"]) from exc
    except DropReasonMissing as exc:
        raise ApiError(422, "reason_required", UI[language]["drop_needs_reason"]) from exc
