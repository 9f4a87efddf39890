"""The review pages: incident list, incident page with draft and form, diff, login."""

from __future__ import annotations

import difflib
import math
import re
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from markupsafe import Markup
from pydantic import ValidationError

from receiver.evidence.view import MAX_CHARTS, chart_file
from receiver.incidents import PRIORITY_ORDER, STATUS_VALUES, Incident, IncidentStatus, Phase
from receiver.moments import in_zone
from receiver.postmortem.templates import SHIPPED_TEMPLATES
from receiver.review import (
    TRANSITIONS,
    ActionHorizon,
    ImprovementArea,
    InvalidTransition,
    ReviewLocked,
)
from receiver.service import EvidenceNotReady
from receiver.web.auth_failures import client_address
from receiver.web.errors import ApiError, retry_after, validation_details
from receiver.web.identity import IDENTITY, login_proof
from receiver.web.keys import AUTH_FAILURES, EVIDENCE, SERVICE, SESSIONS, SETTINGS
from receiver.web.markdown import to_html
from receiver.web.params import (
    CHART,
    FROM_REVISION,
    LIST_PAGE_SIZE,
    PAGE,
    REVISION,
    TO_REVISION,
    incident_id_of,
)
from receiver.web.redirects import safe_next
from receiver.web.review_api import require_evidence
from receiver.web.session import LOGIN_CSRF_COOKIE, credentials_configured, csrf_ok
from receiver.web.ui_text import FIELD_LABELS, KIND_LABELS, STATUS_LABELS, UI

TEXT_FIELDS = (
    "owner",
    "participants",
    "affected_users",
    "affected_features",
    "business_loss",
    "user_feedback",
    "direct_cause",
    "root_cause_technical",
    "root_cause_process",
    "root_cause_human",
    "root_cause_external",
    "impact_chain",
    "containment",
    "temporary_fix",
    "lessons_success",
    "lessons_failure",
    "lessons_suggestions",
)
LONG_FIELDS = frozenset(TEXT_FIELDS[5:])
BLANK_ITEM_ROWS = 3


def _visible(value: object) -> object:
    """Every printed value without bidi overrides or control characters, which could
    make label text display as something else; Markup (the rendered draft) included."""
    if isinstance(value, Markup):
        return Markup(_HIDDEN.sub("", str(value)))
    if isinstance(value, str):
        return _HIDDEN.sub("", value)
    return value


_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(SHIPPED_TEMPLATES / "html")),
    finalize=_visible,
    autoescape=True,  # every value is escaped unless it is Markup (the rendered draft)
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _page(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    settings = request.app[SETTINGS]
    language = settings.language
    identity = request.get(IDENTITY)
    html = _ENV.get_template(template).render(
        t=UI[language],
        field_labels=FIELD_LABELS[language],
        status_labels=STATUS_LABELS[language],
        kind_labels=KIND_LABELS[language],
        lang=language,
        user=identity.user if identity else None,
        csrf=identity.session.csrf if identity and identity.session else "",
        **values,
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


def _local(request: web.Request, moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return in_zone(moment, request.app[SETTINGS].zone).strftime(fmt) if moment else ""


def _duration(incident: Incident) -> str:
    if incident.ended_at is None:
        return ""
    minutes = round((incident.ended_at - incident.started_at).total_seconds() / 60)
    return f"{minutes // 60}h {minutes % 60:02d}m"


def _check_csrf(request: web.Request, form: Any) -> None:
    identity = request[IDENTITY]
    expected = identity.session.csrf if identity.session else ""
    if not expected or not csrf_ok(expected, form.get("csrf_token")):
        raise ApiError(403, "csrf", "the form's CSRF token is missing or wrong; reload the page")


# -- list ---------------------------------------------------------------------------------


async def list_page(request: web.Request) -> web.Response:
    query = request.query
    status_value = query.get("status", "")
    status = IncidentStatus(status_value) if status_value in STATUS_VALUES else None
    priority = query.get("priority", "") if query.get("priority") in PRIORITY_ORDER else ""
    service = query.get("service", "").replace("\x00", "").strip()[:200]
    page = PAGE.query(request, default=1)
    incidents, total = await request.app[SERVICE].list_incidents(
        limit=LIST_PAGE_SIZE,
        offset=(page - 1) * LIST_PAGE_SIZE,
        status=status,
        service=service or None,
        priority=priority or None,
    )
    filters = {"status": status_value if status else "", "service": service, "priority": priority}

    def page_link(number: int) -> str:
        return "/?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": number})

    pages = max(1, math.ceil(total / LIST_PAGE_SIZE))
    return _page(
        request,
        "list.html",
        rows=[
            {"incident": i, "start": _local(request, i.started_at), "duration": _duration(i)}
            for i in incidents
        ],
        total=total,
        filters=filters,
        statuses=[s.value for s in IncidentStatus],
        priorities=PRIORITY_ORDER,
        page=page,
        pages=pages,
        previous=page_link(page - 1) if page > 1 else "",
        next=page_link(page + 1) if page < pages else "",
    )


# -- one incident -------------------------------------------------------------------------


async def incident_page(
    request: web.Request, *, error: str = "", status: int = 200, form: dict[str, Any] | None = None
) -> web.Response:
    service = request.app[SERVICE]
    incident_id = incident_id_of(request)
    detail = await service.incident_detail(incident_id)
    fields = await service.human_fields(incident_id)
    history = await service.audit_log(incident_id)
    drafts = detail.drafts
    shown = drafts[-1] if drafts else None
    wanted = REVISION.query(request, default=0)  # none: the latest
    shown = next((d for d in drafts if d.revision == wanted), shown)
    phases = {
        phase.value: [
            {"time": _local(request, e.at, "%m-%d %H:%M:%S"), "entry": e}
            for e in detail.timeline
            if e.phase is phase
        ]
        for phase in Phase
    }
    values = form or fields.model_dump(mode="json")
    incident = detail.incident
    return _page(
        request,
        "incident.html",
        status=status,
        incident=incident,
        start=_local(request, incident.started_at, "%Y-%m-%d %H:%M:%S"),
        end=_local(request, incident.ended_at, "%Y-%m-%d %H:%M:%S"),
        duration=_duration(incident),
        approved_at=_local(request, incident.approved_at),
        phases=phases,
        draft=shown,
        draft_html=_with_chart_urls(to_html(shown.markdown), shown.file_name, incident_id)
        if shown
        else None,
        evidence_enabled=EVIDENCE in request.app,
        revisions=[
            {"draft": d, "at": _local(request, d.updated_at, "%Y-%m-%d %H:%M:%S")}
            for d in reversed(drafts)
        ],
        history=[{"record": r, "at": _local(request, r.at, "%Y-%m-%d %H:%M:%S")} for r in history],
        moves=sorted(s.value for s in TRANSITIONS.get(incident.status, frozenset())),
        values=values,
        text_fields=TEXT_FIELDS,
        long_fields=LONG_FIELDS,
        improvements=values.get("improvements", []) + [{}] * BLANK_ITEM_ROWS,
        actions=values.get("actions", []) + [{}] * BLANK_ITEM_ROWS,
        areas=[a.value for a in ImprovementArea],
        horizons=[h.value for h in ActionHorizon],
        locked=incident.status is IncidentStatus.APPROVED,
        error=error,
        saved=request.query.get("saved") == "1",
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
    _check_csrf(request, form)
    patch: dict[str, Any] = {name: str(form.get(name, "")) for name in TEXT_FIELDS}
    patch["improvements"] = _items(form, "imp", "area")
    patch["actions"] = _items(form, "act", "horizon")
    incident_id = incident_id_of(request)
    try:
        await request.app[SERVICE].update_human_fields(incident_id, patch, request[IDENTITY].user)
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
    _check_csrf(request, form)
    incident_id = incident_id_of(request)
    target = str(form.get("status", ""))
    if target not in STATUS_VALUES:
        raise ApiError(422, "invalid_status", f"unknown status {target[:40]!r}")
    try:
        await request.app[SERVICE].change_status(
            incident_id, IncidentStatus(target), request[IDENTITY].user
        )
    except InvalidTransition as exc:
        return await incident_page(request, error=str(exc), status=409)
    raise web.HTTPSeeOther(f"/incidents/{incident_id}")


async def diff_page(request: web.Request) -> web.Response:
    incident_id = incident_id_of(request)
    service = request.app[SERVICE]
    if "from" not in request.query or "to" not in request.query:
        raise ApiError(422, "invalid_query", "from and to must be revision numbers")
    older = await service.draft_at(incident_id, FROM_REVISION.query(request, default=1))
    newer = await service.draft_at(incident_id, TO_REVISION.query(request, default=1))
    lines = difflib.unified_diff(
        older.markdown.splitlines(),
        newer.markdown.splitlines(),
        f"revision {older.revision}",
        f"revision {newer.revision}",
        lineterm="",
        n=2,
    )
    return _page(
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
        await service.draft_at(incident_id, REVISION.query(request, default=1))
        if "revision" in request.query
        else await service.current_draft(incident_id)
    )
    return web.Response(
        text=draft.markdown,
        content_type="text/markdown",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{draft.file_name}"'},
    )


def _with_chart_urls(html: Markup, draft_file: str, incident_id: int) -> Markup:
    """The draft names its charts as files beside it; on the page they come from the
    store. File names are ASCII slugs, so markdown-it wrote them into src unchanged."""
    text = str(html)
    for number in range(1, MAX_CHARTS + 1):
        name = chart_file(draft_file, number)
        text = text.replace(
            f'src="{name}"', f'src="/incidents/{incident_id}/evidence/{number}.svg"'
        )
    return Markup(text)


async def evidence_chart(request: web.Request) -> web.Response:
    """A chart of the incident's evidence, for the page's <img>; SVG that runs nothing."""
    svg = await request.app[SERVICE].chart_svg(incident_id_of(request), CHART.path(request))
    return web.Response(
        text=svg,
        content_type="image/svg+xml",
        charset="utf-8",
        # opened on its own, the SVG still may not run script or load anything
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


async def refresh_evidence(request: web.Request) -> web.Response:
    form = await request.post()
    _check_csrf(request, form)
    incident_id = incident_id_of(request)
    try:
        await require_evidence(request).refresh(incident_id)
    except (ReviewLocked, EvidenceNotReady) as exc:
        return await incident_page(request, error=str(exc), status=409)
    raise web.HTTPSeeOther(f"/incidents/{incident_id}")


# -- login --------------------------------------------------------------------------------


async def login_page(request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
    settings = request.app[SETTINGS]
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = _page(
        request,
        "login.html",
        status=status,
        error=error,
        next=safe_next(request.query.get("next", "/")),
        login_csrf=token,
        needs_secret=credentials_configured(settings),
        basic=settings.basic_auth_password is not None,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/login")
    return response


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(form.get("csrf_token", ""))):
        raise ApiError(403, "csrf", "the login form's CSRF token is missing or wrong; reload it")
    settings = request.app[SETTINGS]
    text = UI[settings.language]
    name = str(form.get("name", "")).strip()[:200]
    secret = str(form.get("secret", ""))
    failures = request.app[AUTH_FAILURES]
    address = client_address(request)
    # with credentials to guess, a try with a name counts, per address and per name,
    # before it is checked: a burst of tries at once gets no more checks than one by one
    counted = credentials_configured(settings) and bool(name)
    if counted:
        blocked = await failures.login_attempt(address, name)
        if blocked:
            seconds = retry_after(blocked.total_seconds())
            refused = await login_page(
                request, error=text["login_blocked"].format(seconds=seconds), status=429
            )
            refused.headers["Retry-After"] = str(seconds)
            return refused
    proof = login_proof(settings, name, secret)
    if proof is None:
        if name:
            problem = "login_invalid"
        else:
            problem = "login_missing" if credentials_configured(settings) else "login_need_name"
        return await login_page(request, error=text[problem], status=401)
    if counted:
        await failures.login_succeeded(address, name)  # the try counted: forgiven
    response = web.HTTPSeeOther(safe_next(str(form.get("next", "/"))))
    await request.app[SESSIONS].start(response, name, proof)
    raise response


async def logout(request: web.Request) -> web.Response:
    form = await request.post()
    _check_csrf(request, form)
    response = web.HTTPSeeOther("/login")
    await request.app[SESSIONS].end(request, response)
    raise response
