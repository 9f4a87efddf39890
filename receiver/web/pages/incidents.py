"""The review pages: the incident list, one incident with its draft and form, the diff."""

from __future__ import annotations

import difflib
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from receiver.domain.incident import STATUS_VALUES, IncidentStatus
from receiver.domain.review import (
    MAX_OVERRIDE_REASON,
    ApprovalIncomplete,
    InvalidTransition,
    ReviewLocked,
)
from receiver.usecases.errors import EvidenceNotReady
from receiver.web.errors import ApiError, validation_details
from receiver.web.identity import IDENTITY
from receiver.web.keys import SERVICE, SETTINGS, require_evidence
from receiver.web.pages.inbox_notice import inbox_notice
from receiver.web.pages.incident_view import incident_context
from receiver.web.pages.list_view import ListFilters, list_context
from receiver.web.pages.render import (
    TEXT_FIELDS,
    check_csrf,
    render_page,
)
from receiver.web.pages.ui_text import PART_LABELS, UI
from receiver.web.params import (
    CHART,
    FROM_REVISION,
    LIST_PAGE_SIZE,
    PAGE,
    REVISION,
    TO_REVISION,
    incident_id_of,
)

# -- list ---------------------------------------------------------------------------------


async def list_page(request: web.Request) -> web.Response:
    wanted = ListFilters.of(request)
    page = PAGE.query(request, default=1)
    incidents, total = await request.app[SERVICE].queries.list_incidents(
        limit=LIST_PAGE_SIZE,
        offset=(page - 1) * LIST_PAGE_SIZE,
        status=wanted.status,
        service=wanted.service or None,
        priority=wanted.priority or None,
    )
    context = list_context(request, wanted, page, incidents, total)
    return render_page(request, "list.html", inbox_notice=await inbox_notice(request), **context)


# -- one incident -------------------------------------------------------------------------


async def incident_page(
    request: web.Request, *, error: str = "", status: int = 200, form: dict[str, Any] | None = None
) -> web.Response:
    page = await request.app[SERVICE].queries.incident_page(incident_id_of(request))
    context = incident_context(request, page, REVISION.query(request, default=0), form)
    saved = request.query.get("saved") == "1"
    notice = await inbox_notice(request)
    return render_page(
        request,
        "incident.html",
        status=status,
        error=error,
        saved=saved,
        inbox_notice=notice,
        **context,
    )


async def incident_view(request: web.Request) -> web.Response:
    return await incident_page(request)


def _items(form: Any, prefix: str, kind_field: str) -> list[dict[str, Any]]:
    """Rows `prefix-N-text/owner/due/done/<kind>` of the form; rows without text are dropped."""
    rows = []
    for index in range(200):
        text = form.get(f"{prefix}-{index}-text")
        if text is None:
            break
        if not str(text).strip():
            continue
        rows.append(
            {
                "text": text,
                "owner": form.get(f"{prefix}-{index}-owner", ""),
                "due": form.get(f"{prefix}-{index}-due") or None,
                "done": form.get(f"{prefix}-{index}-done") == "on",
                kind_field: form.get(f"{prefix}-{index}-{kind_field}"),
            }
        )
    return rows


async def save_fields(request: web.Request) -> web.Response:
    form = await request.post()
    check_csrf(request, form)
    patch: dict[str, Any] = {name: str(form.get(name, "")) for name in TEXT_FIELDS}
    patch["improvements"] = _items(form, "imp", "area")
    patch["actions"] = _items(form, "act", "horizon")
    incident_id = incident_id_of(request)
    try:
        await request.app[SERVICE].review.update_human_fields(
            incident_id, patch, request[IDENTITY].user
        )
    except ValidationError as exc:
        problems = "; ".join(f"{d['field']}: {d['message']}" for d in validation_details(exc))
        return await incident_page(request, error=problems, status=422, form=patch)
    except ReviewLocked:
        return await incident_page(
            request, error=UI[request.app[SETTINGS].language]["locked"], status=409, form=patch
        )
    raise web.HTTPSeeOther(f"/incidents/{incident_id}?saved=1")


async def set_status(request: web.Request) -> web.Response:
    form = await request.post()
    check_csrf(request, form)
    incident_id = incident_id_of(request)
    target = str(form.get("status", ""))
    if target not in STATUS_VALUES:
        raise ApiError(422, "invalid_status", f"unknown status {target[:40]!r}")
    reason = str(form.get("override_reason", ""))[:MAX_OVERRIDE_REASON]
    try:
        await request.app[SERVICE].review.change_status(
            incident_id, IncidentStatus(target), request[IDENTITY].user, reason
        )
    except ApprovalIncomplete as exc:
        language = request.app[SETTINGS].language
        missing = UI[language]["list_sep"].join(PART_LABELS[language][n] for n in exc.missing)
        return await incident_page(
            request, error=UI[language]["incomplete"].format(missing=missing), status=409
        )
    except InvalidTransition as exc:
        return await incident_page(request, error=str(exc), status=409)
    raise web.HTTPSeeOther(f"/incidents/{incident_id}")


async def diff_page(request: web.Request) -> web.Response:
    incident_id = incident_id_of(request)
    service = request.app[SERVICE]
    if "from" not in request.query or "to" not in request.query:
        raise ApiError(422, "invalid_query", "from and to must be revision numbers")
    older = await service.queries.draft_at(incident_id, FROM_REVISION.query(request, default=1))
    newer = await service.queries.draft_at(incident_id, TO_REVISION.query(request, default=1))
    lines = difflib.unified_diff(
        older.markdown.splitlines(),
        newer.markdown.splitlines(),
        f"revision {older.revision}",
        f"revision {newer.revision}",
        lineterm="",
        n=2,
    )
    return render_page(
        request,
        "diff.html",
        incident_id=incident_id,
        older=older,
        newer=newer,
        lines=[{"text": line, "kind": line[:1] if line[:1] in "+-@" else " "} for line in lines],
    )


async def download(request: web.Request) -> web.Response:
    incident_id = incident_id_of(request)
    service = request.app[SERVICE]
    draft = (
        await service.queries.draft_at(incident_id, REVISION.query(request, default=1))
        if "revision" in request.query
        else await service.queries.current_draft(incident_id)
    )
    return web.Response(
        text=draft.markdown,
        content_type="text/markdown",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{draft.file_name}"'},
    )


async def evidence_chart(request: web.Request) -> web.Response:
    """A chart of the incident's evidence, for the page's <img>; SVG that runs nothing."""
    svg = await request.app[SERVICE].evidence.chart_svg(
        incident_id_of(request), CHART.path(request)
    )
    return web.Response(
        text=svg,
        content_type="image/svg+xml",
        charset="utf-8",
        # opened on its own, the SVG still may not run script or load anything
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


async def refresh_evidence(request: web.Request) -> web.Response:
    form = await request.post()
    check_csrf(request, form)
    incident_id = incident_id_of(request)
    try:
        await require_evidence(request).refresh(incident_id)
    except (ReviewLocked, EvidenceNotReady) as exc:
        return await incident_page(request, error=str(exc), status=409)
    raise web.HTTPSeeOther(f"/incidents/{incident_id}")
