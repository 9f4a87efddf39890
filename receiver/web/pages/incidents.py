"""The review pages: the incident list, one incident with its draft and form, the diff."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from receiver.domain.concurrent_edits import EditConflict
from receiver.domain.incident import STATUS_VALUES, IncidentStatus
from receiver.domain.review import (
    MAX_OVERRIDE_REASON,
    ApprovalIncomplete,
    InvalidTransition,
    ReviewLocked,
)
from receiver.store.policy import NOT_NEEDED, WANTED
from receiver.usecases.errors import EvidenceNotReady, NotPromotable
from receiver.web.errors import ApiError
from receiver.web.identity import IDENTITY
from receiver.web.keys import SERVICE, SETTINGS, require_evidence
from receiver.web.pages.change_view import (
    RECENT_CHANGES,
    VERDICT_CHOICES,
    change_list,
    recent_list,
)
from receiver.web.pages.diff_view import diff_context
from receiver.web.pages.form_errors import form_problems
from receiver.web.pages.inbox_notice import inbox_notice
from receiver.web.pages.incident_view import incident_context
from receiver.web.pages.list_view import ListFilters, list_context
from receiver.web.pages.render import (
    TEXT_FIELDS,
    check_csrf,
    render_page,
)
from receiver.web.pages.section_view import ITEM_GROUPS, Refused
from receiver.web.pages.sections import SECTION_BY_KEY, Section
from receiver.web.pages.ui_text import FIELD_LABELS, PART_LABELS, UI
from receiver.web.params import (
    CHANGE,
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
    queries = request.app[SERVICE].queries
    incidents, total = await queries.list_incidents(
        limit=LIST_PAGE_SIZE,
        offset=(page - 1) * LIST_PAGE_SIZE,
        status=wanted.status,
        service=wanted.service or None,
        priority=wanted.priority or None,
        # the incidents the postmortem policy let go are listed apart
        postmortem=NOT_NEEDED if wanted.not_needed else WANTED,
    )
    context = list_context(request, wanted, page, incidents, total)
    if not wanted.not_needed:
        _, context["not_needed"] = await queries.list_incidents(
            limit=1, offset=0, postmortem=NOT_NEEDED
        )
    recent = await request.app[SERVICE].change_drafts.recent(wanted.service or None, RECENT_CHANGES)
    return render_page(
        request,
        "list.html",
        inbox_notice=await inbox_notice(request),
        recent_changes=recent_list(request, recent),
        **context,
    )


# -- one incident -------------------------------------------------------------------------


async def incident_page(
    request: web.Request,
    *,
    error: str = "",
    status: int = 200,
    form: dict[str, Any] | None = None,
    refused: Refused | None = None,
) -> web.Response:
    service = request.app[SERVICE]
    page = await service.queries.incident_page(incident_id_of(request))
    context = incident_context(request, page, REVISION.query(request, default=0), form, refused)
    changes = change_list(request, await service.change_drafts.suspects_of(page.incident_id))
    saved = request.query.get("saved") == "1"
    notice = await inbox_notice(request)
    return render_page(
        request,
        "incident.html",
        status=status,
        error=error,
        saved=saved,
        inbox_notice=notice,
        changes=changes,
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
                # the item's stable id and what only the actions page sets (issue 21)
                "id": form.get(f"{prefix}-{index}-id", ""),
                "ticket": form.get(f"{prefix}-{index}-ticket", ""),
                "priority": form.get(f"{prefix}-{index}-priority") or None,
                "dropped": form.get(f"{prefix}-{index}-dropped", ""),
            }
        )
    return rows


async def save_fields(request: web.Request) -> web.Response:
    """One section's form (`section`), or every field when none is named; `base_revision`
    is the draft revision the form was shown with, so a concurrent edit is not lost."""
    form = await request.post()
    check_csrf(request, form)
    section = _section(form.get("section"))
    names = section.fields if section else (*TEXT_FIELDS, *ITEM_GROUPS)
    patch: dict[str, Any] = {name: str(form.get(name, "")) for name in TEXT_FIELDS if name in names}
    for group, (prefix, kind) in ITEM_GROUPS.items():
        if group in names:
            patch[group] = _items(form, prefix, kind)
    incident_id = incident_id_of(request)
    language = request.app[SETTINGS].language
    refused = Refused(section.key) if section else None
    try:
        await request.app[SERVICE].review.update_human_fields(
            incident_id, patch, request[IDENTITY].user, _base_revision(form.get("base_revision"))
        )
    except ValidationError as exc:
        problems = form_problems(exc, language)
        return await incident_page(request, error=problems, status=422, form=patch, refused=refused)
    except EditConflict as exc:
        labels = UI[language]["list_sep"].join(
            FIELD_LABELS[language][c.field] for c in exc.conflicts
        )
        return await incident_page(
            request,
            error=UI[language]["conflict"].format(fields=labels),
            status=409,
            form=patch,
            refused=Refused(section.key if section else "", exc.conflicts),
        )
    except ReviewLocked:
        return await incident_page(
            request, error=UI[language]["locked"], status=409, form=patch, refused=refused
        )
    anchor = f"#{section.anchor}" if section else ""
    raise web.HTTPSeeOther(f"/incidents/{incident_id}?saved=1{anchor}")


def _section(value: object) -> Section | None:
    if value is None or value == "":
        return None
    section = SECTION_BY_KEY.get(str(value))
    if section is None:
        raise ApiError(422, "invalid_section", f"unknown section {str(value)[:40]!r}")
    return section


def _base_revision(value: object) -> int | None:
    """The draft revision the form was shown with; a form without one replaces."""
    if value is None or value == "":
        return None
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise ApiError(422, "invalid_base_revision", "base_revision must be a revision number")
    return int(text)


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


async def promote(request: web.Request) -> web.Response:
    """A person says this incident requires a postmortem after all."""
    form = await request.post()
    check_csrf(request, form)
    incident_id = incident_id_of(request)
    try:
        await request.app[SERVICE].policy.promote(incident_id, request[IDENTITY].user)
    except NotPromotable:
        language = request.app[SETTINGS].language
        return await incident_page(request, error=UI[language]["not_promotable"], status=409)
    except ReviewLocked as exc:
        return await incident_page(request, error=str(exc), status=409)
    raise web.HTTPSeeOther(f"/incidents/{incident_id}")


async def diff_page(request: web.Request) -> web.Response:
    incident_id = incident_id_of(request)
    if "from" not in request.query or "to" not in request.query:
        raise ApiError(422, "invalid_query", "from and to must be revision numbers")
    queries = request.app[SERVICE].queries
    older = await queries.draft_at(incident_id, FROM_REVISION.query(request, default=1))
    newer = await queries.draft_at(incident_id, TO_REVISION.query(request, default=1))
    return render_page(request, "diff.html", **diff_context(request, incident_id, older, newer))


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


async def mark_change(request: web.Request) -> web.Response:
    """A person marks a change the cause of the incident, or not related (or takes that
    back); the draft follows in a new revision by them."""
    form = await request.post()
    check_csrf(request, form)
    incident_id = incident_id_of(request)
    choice = str(form.get("verdict", ""))
    if choice not in VERDICT_CHOICES:
        raise ApiError(422, "invalid_verdict", "verdict must be cause, unrelated or clear")
    try:
        await request.app[SERVICE].change_drafts.mark(
            incident_id, CHANGE.path(request), VERDICT_CHOICES[choice], request[IDENTITY].user
        )
    except ReviewLocked as exc:
        return await incident_page(request, error=str(exc), status=409)
    raise web.HTTPSeeOther(f"/incidents/{incident_id}#changes")


async def refresh_evidence(request: web.Request) -> web.Response:
    form = await request.post()
    check_csrf(request, form)
    incident_id = incident_id_of(request)
    try:
        await require_evidence(request).refresh(incident_id)
    except (ReviewLocked, EvidenceNotReady) as exc:
        return await incident_page(request, error=str(exc), status=409)
    raise web.HTTPSeeOther(f"/incidents/{incident_id}")
