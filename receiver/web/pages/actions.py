"""GET /actions (every tracked action item, filtered, by due date), GET /actions.csv, and
POST /actions/{item_id}/status: mark an item done, open again or dropped, from this page
or from the incident's page — the same change either way."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from receiver.domain.action_items import ItemStatus, is_overdue
from receiver.web.action_filters import ActionFilters
from receiver.web.api.actions import change_status, item_status
from receiver.web.keys import SERVICE, SETTINGS
from receiver.web.pages.actions_csv import actions_csv
from receiver.web.pages.render import check_csrf, render_page
from receiver.web.pages.ui_text import FIELD_LABELS, UI
from receiver.web.params import MAX_ID, bounded_int


async def actions_page(request: web.Request) -> web.Response:
    filters = ActionFilters.of(request)
    actions = request.app[SERVICE].actions
    today = actions.today()
    rows = await actions.find(filters.wanted(today))
    shown = filters.shown()
    return render_page(
        request,
        "actions.html",
        filters=shown,
        statuses=[s.value for s in ItemStatus],
        services=await actions.services(),
        rows=[{"row": r, "overdue": is_overdue(r.item.due, r.item.status, today)} for r in rows],
        csv_link="/actions.csv?" + urlencode({k: v for k, v in shown.items() if v}),
    )


async def actions_csv_file(request: web.Request) -> web.Response:
    filters = ActionFilters.of(request)
    actions = request.app[SERVICE].actions
    today = actions.today()
    rows = await actions.find(filters.wanted(today))
    language = request.app[SETTINGS].language
    return web.Response(
        text=actions_csv(UI[language], FIELD_LABELS[language], rows, today),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="actions-{today}.csv"'},
    )


async def set_item_status(request: web.Request) -> web.Response:
    form = await request.post()
    check_csrf(request, form)
    language = request.app[SETTINGS].language
    status = item_status(str(form.get("status", "")), language)
    incident_id = await change_status(
        request, request.match_info["item_id"], status, str(form.get("reason", ""))[:500]
    )
    back = str(form.get("back", ""))
    if back.startswith("incident"):  # from an incident's page: that page (or the item's)
        page = bounded_int(back.removeprefix("incident:"), 1, MAX_ID) or incident_id
        raise web.HTTPSeeOther(f"/incidents/{page}#similar")
    # back to the list as it was filtered (`list-*`; re-read: only values filters accept)
    filters = ActionFilters.parse(
        {
            name: str(form.get(f"list-{name}", ""))
            for name in ("owner", "service", "status", "overdue")
        },
        language,
    )
    query = urlencode({k: v for k, v in filters.shown().items() if v})
    raise web.HTTPSeeOther("/actions" + (f"?{query}" if query else ""))
