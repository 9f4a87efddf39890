"""GET /api/v1/incidents, /api/v1/incidents/{id} and the draft as Markdown."""

from __future__ import annotations

from aiohttp import web

from receiver.incidents import PRIORITY_ORDER, IncidentStatus
from receiver.service import IncidentNotFound
from receiver.web.body import is_number
from receiver.web.errors import ApiError
from receiver.web.keys import SERVICE
from receiver.web.serialize import (
    draft_json,
    entry_json,
    episode_json,
    incident_summary,
    json_response,
)

MAX_PAGE = 500


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not is_number(raw) or not low <= int(raw) <= high:
        raise ApiError(
            422,
            "invalid_query",
            f"{name} must be an integer from {low} to {high}",
            [{"field": name, "message": f"got {raw[:40]!r}"}],
        )
    return int(raw)


# the id column is a 32-bit integer on PostgreSQL; a larger id names no incident
MAX_INCIDENT_ID = 2**31 - 1


def incident_id_of(request: web.Request) -> int:
    """The {incident_id} of the path; 404 for one no incident can have."""
    incident_id = int(request.match_info["incident_id"])
    if not 1 <= incident_id <= MAX_INCIDENT_ID:
        raise IncidentNotFound(f"no incident with id {incident_id}")
    return incident_id


async def list_incidents(request: web.Request) -> web.Response:
    limit = _int_param(request, "limit", 50, 1, MAX_PAGE)
    offset = _int_param(request, "offset", 0, 0, 10**9)
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
    incidents, total = await request.app[SERVICE].list_incidents(
        limit=limit,
        offset=offset,
        status=status,
        service=request.query.get("service") or None,
        priority=priority,
    )
    return json_response(
        {
            "incidents": [incident_summary(incident) for incident in incidents],
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    )


async def get_incident(request: web.Request) -> web.Response:
    detail = await request.app[SERVICE].incident_detail(incident_id_of(request))
    body = incident_summary(detail.incident)
    body["alerts"] = [episode_json(episode) for episode in detail.episodes]
    body["timeline"] = [entry_json(entry) for entry in detail.timeline]
    body["drafts"] = [draft_json(draft) for draft in detail.drafts]
    return json_response(body)


async def get_postmortem(request: web.Request) -> web.Response:
    """The current draft, or `?revision=N`."""
    service = request.app[SERVICE]
    incident_id = incident_id_of(request)
    if "revision" in request.query:
        revision = _int_param(request, "revision", 1, 1, 10**9)
        draft = await service.draft_at(incident_id, revision)
    else:
        draft = await service.current_draft(incident_id)
    return web.Response(
        text=draft.markdown,
        content_type="text/markdown",
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{draft.file_name}"'},
    )
