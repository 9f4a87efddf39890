"""GET /api/v1/incidents, /api/v1/incidents/{id} and the draft as Markdown."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from receiver.domain.incident import PRIORITY_ORDER, IncidentStatus
from receiver.store.policy import FILTERS as POSTMORTEM_FILTERS
from receiver.web.errors import ApiError
from receiver.web.keys import SERVICE
from receiver.web.params import LIMIT, OFFSET, REVISION, incident_id_of
from receiver.web.serialize import (
    completeness_json,
    draft_json,
    entry_json,
    episode_json,
    incident_summary,
    json_response,
)


async def list_incidents(request: web.Request) -> web.Response:
    limit = LIMIT.query(request, default=50)
    offset = OFFSET.query(request, default=0)
    found, total = await request.app[SERVICE].queries.list_incidents(
        limit=limit, offset=offset, **_filters(request)
    )
    return json_response(
        {
            "incidents": [incident_summary(incident) for incident in found],
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    )


def _filters(request: web.Request) -> dict[str, Any]:
    """?status=, ?service=, ?priority= and ?postmortem=, checked; else a 422."""
    raw_status = request.query.get("status")
    status = None
    if raw_status:
        try:
            status = IncidentStatus(raw_status)
        except ValueError as exc:
            valid = ", ".join(s.value for s in IncidentStatus)
            raise ApiError(422, "invalid_query", f"status must be one of {valid}") from exc
    if "\x00" in request.query.get("service", ""):
        raise ApiError(422, "invalid_query", "service must not contain NUL characters")
    priority = request.query.get("priority") or None
    if priority is not None and priority not in PRIORITY_ORDER:
        raise ApiError(422, "invalid_query", f"priority must be one of {', '.join(PRIORITY_ORDER)}")
    postmortem = request.query.get("postmortem") or None
    if postmortem is not None and postmortem not in POSTMORTEM_FILTERS:
        valid = ", ".join(POSTMORTEM_FILTERS)
        raise ApiError(422, "invalid_query", f"postmortem must be one of {valid}")
    return {
        "status": status,
        "service": request.query.get("service") or None,
        "priority": priority,
        "postmortem": postmortem,
    }


async def get_incident(request: web.Request) -> web.Response:
    detail = await request.app[SERVICE].queries.incident_detail(incident_id_of(request))
    body = incident_summary(detail.incident)
    body["alerts"] = [episode_json(episode) for episode in detail.episodes]
    body["timeline"] = [entry_json(entry) for entry in detail.timeline]
    body["drafts"] = [draft_json(draft) for draft in detail.drafts]
    body["completeness"] = completeness_json(detail.fields)
    body["approval_override"] = detail.incident.approval_override
    return json_response(body)


async def get_postmortem(request: web.Request) -> web.Response:
    """The current draft, or `?revision=N`."""
    service = request.app[SERVICE]
    incident_id = incident_id_of(request)
    if "revision" in request.query:
        draft = await service.queries.draft_at(incident_id, REVISION.query(request, default=1))
    else:
        draft = await service.queries.current_draft(incident_id)
    return web.Response(
        text=draft.markdown,
        content_type="text/markdown",
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{draft.file_name}"'},
    )
