"""The review as JSON: human fields, status changes and revisions."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from receiver.domain.concurrent_edits import EditConflict
from receiver.domain.incident import IncidentStatus
from receiver.domain.review import MAX_OVERRIDE_REASON, ApprovalIncomplete, HumanFields
from receiver.web.body import read_json
from receiver.web.errors import ApiError, invalid_input
from receiver.web.identity import IDENTITY
from receiver.web.keys import SERVICE, SETTINGS, require_evidence
from receiver.web.params import incident_id_of
from receiver.web.serialize import json_response, revision_json

# the body key (beside the fields) naming the revision an edit is based on
BASE_REVISION = "base_revision"

# the statuses people move a draft to; the others follow the alerts
REVIEW_STATUSES = (IncidentStatus.IN_REVIEW.value, IncidentStatus.APPROVED.value)


async def get_fields(request: web.Request) -> web.Response:
    fields = await request.app[SERVICE].review.human_fields(incident_id_of(request))
    return json_response(fields.model_dump(mode="json"))


async def patch_fields(request: web.Request) -> web.Response:
    """Replace the given human fields (lists whole); a new draft revision by the caller. With
    `base_revision`, a field someone else changed since is a 409 naming its current value."""
    patch = await _fields_patch(request)
    base_revision = _base_revision(patch.pop(BASE_REVISION, None))
    incident_id = incident_id_of(request)
    review = request.app[SERVICE].review
    try:
        result = await review.update_human_fields(
            incident_id, patch, request[IDENTITY].user, base_revision
        )
    except ValidationError as exc:
        raise invalid_input("invalid_fields", "the fields are not valid", exc) from exc
    except EditConflict as exc:
        raise ApiError(
            409,
            "edit_conflict",
            str(exc),
            [{"field": c.field, "message": "changed by someone else"} for c in exc.conflicts],
            extra={
                "draft_revision": exc.revision,
                "conflicts": [
                    {"field": c.field, "current": c.current, "yours": c.yours}
                    for c in exc.conflicts
                ],
            },
        ) from exc
    fields = await review.human_fields(incident_id)
    return json_response(
        {
            "incident_id": incident_id,
            "draft_revision": result.draft_revision,
            "fields": fields.model_dump(mode="json"),
        }
    )


async def _fields_patch(request: web.Request) -> dict[str, Any]:
    """A JSON object of human fields, none unknown; else a 422."""
    data, _ = await read_json(request, request.app[SETTINGS].max_body)
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_fields", "the body must be a JSON object of fields")
    unknown = sorted(set(data) - set(HumanFields.model_fields) - {BASE_REVISION})
    if unknown:
        raise ApiError(
            422,
            "invalid_fields",
            f"unknown fields: {', '.join(unknown)}",
            [{"field": name, "message": "not a human field"} for name in unknown],
        )
    return data


def _base_revision(value: object) -> int | None:
    """The draft revision the caller's edit is based on, if it says so."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ApiError(
            422,
            "invalid_base_revision",
            "base_revision must be the draft revision number the edit is based on",
            [{"field": BASE_REVISION, "message": "not a revision number"}],
        )
    return value


async def post_status(request: web.Request) -> web.Response:
    """Move the review; approving with required fields empty is a 409 listing them, unless
    `override_reason` says why it is approved anyway."""
    data, _ = await read_json(request, request.app[SETTINGS].max_body)
    target = data.get("status") if isinstance(data, dict) else None
    if target not in REVIEW_STATUSES:
        valid = ", ".join(REVIEW_STATUSES)
        raise ApiError(422, "invalid_status", f'give {{"status": …}}, one of {valid}')
    reason = data.get("override_reason", "") if isinstance(data, dict) else ""
    if not isinstance(reason, str) or len(reason) > MAX_OVERRIDE_REASON or "\x00" in reason:
        raise ApiError(
            422,
            "invalid_override_reason",
            f"override_reason must be text of at most {MAX_OVERRIDE_REASON} characters",
        )
    try:
        result = await request.app[SERVICE].review.change_status(
            incident_id_of(request), IncidentStatus(str(target)), request[IDENTITY].user, reason
        )
    except ApprovalIncomplete as exc:
        raise ApiError(
            409,
            "incomplete",
            str(exc),
            [{"field": name, "message": "required before approval"} for name in exc.missing],
            extra={"missing": exc.missing},
        ) from exc
    return json_response(
        {
            "incident_id": result.incident_id,
            "status": result.status.value,
            "draft_revision": result.draft_revision,
        }
    )


async def list_revisions(request: web.Request) -> web.Response:
    detail = await request.app[SERVICE].queries.incident_detail(incident_id_of(request))
    return json_response(
        {
            "incident_id": detail.incident.id,
            "revisions": [revision_json(draft) for draft in detail.drafts],
        }
    )


async def refresh_evidence(request: web.Request) -> web.Response:
    """Fetch the incident's evidence from Prometheus again; a new draft revision."""
    incident_id = incident_id_of(request)
    worker = require_evidence(request)
    await worker.refresh(incident_id)
    draft = await request.app[SERVICE].queries.current_draft(incident_id)
    return json_response({"incident_id": incident_id, "draft_revision": draft.revision})
