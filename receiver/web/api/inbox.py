"""GET /api/v1/inbox/{id}: whether an accepted webhook or event was applied, and where."""

from __future__ import annotations

from aiohttp import web

from receiver.web.errors import ApiError
from receiver.web.keys import SERVICE
from receiver.web.params import INBOX_ID
from receiver.web.serialize import inbox_entry_json, json_response


async def get_inbox_entry(request: web.Request) -> web.Response:
    entry_id = INBOX_ID.path(request)
    entry = await request.app[SERVICE].queries.inbox_entry(entry_id)
    if entry is None:
        raise ApiError(404, "not_found", f"no inbox entry {entry_id}")
    return json_response(inbox_entry_json(entry))
