"""The postmortem policy as JSON: a person marks an incident as requiring a postmortem."""

from __future__ import annotations

from aiohttp import web

from receiver.web.identity import IDENTITY
from receiver.web.keys import SERVICE
from receiver.web.params import incident_id_of
from receiver.web.serialize import json_response


async def promote(request: web.Request) -> web.Response:
    """no_postmortem_needed → required, by the caller; 409 for an incident the policy
    did not judge (its service has no SLOs) or one already approved."""
    incident_id = incident_id_of(request)
    service = request.app[SERVICE]
    result = await service.policy.promote(incident_id, request[IDENTITY].user)
    draft = await service.queries.current_draft(incident_id)
    return json_response(
        {
            "incident_id": result.incident_id,
            "postmortem": "required",
            "draft_revision": draft.revision,
        }
    )
