"""What every page shares: the HTML templates with the UI texts, times in the zone, CSRF."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from receiver.domain.incident import Incident
from receiver.domain.moments import in_zone
from receiver.postmortem.templates import SHIPPED_TEMPLATES
from receiver.web.errors import ApiError
from receiver.web.identity import IDENTITY
from receiver.web.keys import SETTINGS
from receiver.web.pages.ui_text import FIELD_LABELS, KIND_LABELS, STATUS_LABELS, UI
from receiver.web.session import csrf_ok

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


def render_page(
    request: web.Request, template: str, status: int = 200, **values: Any
) -> web.Response:
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


def local_time(request: web.Request, moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return in_zone(moment, request.app[SETTINGS].zone).strftime(fmt) if moment else ""


def duration_text(incident: Incident, end: datetime | None = None) -> str:
    """From the start to `end` (the incident's own end unless the caller knows better)."""
    end = end or incident.ended_at
    if end is None:
        return ""
    minutes = round((end - incident.started_at).total_seconds() / 60)
    return f"{minutes // 60}h {minutes % 60:02d}m"


def check_csrf(request: web.Request, form: Any) -> None:
    identity = request[IDENTITY]
    expected = identity.session.csrf if identity.session else ""
    if not expected or not csrf_ok(expected, form.get("csrf_token")):
        raise ApiError(403, "csrf", "the form's CSRF token is missing or wrong; reload the page")
