"""POST /api/v1/events: what people did, from alert-webhook.sh (form) or as JSON."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from receiver.domain.events import EventType
from receiver.store import InboxEntry
from receiver.usecases.errors import IncidentNotFound, NoOpenIncident
from receiver.usecases.record_event import ManualEvent
from receiver.web.body import FORM_TYPES, read_json
from receiver.web.errors import (
    ApiError,
    RateLimited,
    invalid_input,
    retry_after,
    validation_details,
)
from receiver.web.identity import IDENTITY, credential_of
from receiver.web.keys import APPLIER, EVENT_LIMITER, METRICS, SERVICE, SETTINGS
from receiver.web.serialize import json_response


async def _read_fields(request: web.Request, max_body: int) -> dict[str, Any]:
    if request.content_type in FORM_TYPES:
        form = await request.post()  # read_body has read and parsed it, or answered 4xx
        fields = {name: value for name, value in form.items() if isinstance(value, str)}
        # empty form fields mean "not given" (the script always sends every field)
        return {name: value for name, value in fields.items() if value != ""}
    data, _ = await read_json(
        request, max_body, "application/json or application/x-www-form-urlencoded"
    )
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_event", "the body must be a JSON object")
    return data


async def post_event(request: web.Request) -> web.Response:
    _take_rate(request)
    event, raw = await _parse(request)
    app = request.app
    inbox_id = await app[SERVICE].accept("event", raw, credential_of(request))
    # a person is waiting for this one: answer with its incident once it is applied
    wait = app[SETTINGS].event_apply_wait.total_seconds()
    entry = await app[APPLIER].wait_applied(inbox_id, wait)
    if entry is None or entry.state in ("pending", "quarantined") or entry.incident_id is None:
        if entry is not None and entry.state == "refused":
            raise refusal(entry)
        return json_response(
            {"status": "accepted", "inbox_id": inbox_id, "applied": False}, status=202
        )
    app[METRICS].manual_events.labels(type=event.type.value).inc()
    base = app[SETTINGS].public_url or f"{request.scheme}://{request.host}"
    changed = entry.outcome != "unchanged"
    status = await app[SERVICE].queries.incident_status(entry.incident_id)
    return json_response(
        {
            "status": "recorded" if changed else "duplicate",
            "inbox_id": inbox_id,
            "incident_id": entry.incident_id,
            "incident_url": f"{base.rstrip('/')}/incidents/{entry.incident_id}",
            "incident_status": status.value,
            "created": entry.outcome == "created",
            "draft_revision": entry.draft_revision,
        },
        status=201 if changed else 200,
    )


def refusal(entry: InboxEntry) -> Exception:
    """What the use case raised when it refused the entry, for the usual 4xx."""
    message = entry.last_error or "the event names no incident"
    if entry.outcome == "no_open_incident":
        return NoOpenIncident(message)
    return IncidentNotFound(message)


def _take_rate(request: web.Request) -> None:
    """A 429 past the event rate, counted per credential: X-Actor names who acted, it
    opens no bucket of its own."""
    wait = request.app[EVENT_LIMITER].take(request[IDENTITY].credential)
    if wait:
        raise RateLimited(
            f"more than {request.app[SETTINGS].event_rate} events a minute with these "
            f"credentials; retry in {retry_after(wait)}s (RECEIVER_EVENT_RATE)",
            wait,
        )


async def _parse(request: web.Request) -> tuple[ManualEvent, str]:
    """The event, and the text it is stored as (the fields themselves, key included: a
    replay is the same event); else a 4xx."""
    fields = await _read_fields(request, request.app[SETTINGS].max_body)
    header_key = request.headers.get("Idempotency-Key")
    if header_key and "idempotency_key" not in fields:
        fields["idempotency_key"] = header_key
    raw = json.dumps(fields, ensure_ascii=False)
    try:
        return ManualEvent.model_validate(fields), raw
    except ValidationError as exc:
        details = validation_details(exc)
        if any(detail["field"] == "type" for detail in details):
            valid = ", ".join(t.value for t in EventType)
            raise ApiError(
                422, "invalid_event", f"unknown event type; valid types: {valid}", details
            ) from exc
        raise invalid_input("invalid_event", "the event is not valid", exc) from exc
