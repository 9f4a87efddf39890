"""A 403 or 404 on a page as a page in the receiver's language; the API keeps JSON."""

from __future__ import annotations

from aiohttp import web

from receiver.web.keys import SETTINGS
from receiver.web.pages.render import render_page
from receiver.web.pages.ui_text import UI

# what a person meets on a page: a stale form (403 csrf) and a link to nothing (404)
PAGE_ERROR_STATUSES = frozenset({403, 404})
_NOT_PAGES = ("/api/", "/static/")
_NOT_PAGE_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})


def is_page(path: str) -> bool:
    return not path.startswith(_NOT_PAGES) and path not in _NOT_PAGE_PATHS


def error_page(request: web.Request, status: int, code: str) -> web.Response:
    text = UI[request.app[SETTINGS].language]
    incident_id = request.match_info.get("incident_id", "")
    if status == 404:
        message = text["error_no_incident"].format(id=incident_id) if incident_id else ""
        message = message or text["error_not_found"]
    else:
        message = text["error_csrf"] if code == "csrf" else text["error_forbidden"]
    title = text["error_title_404" if status == 404 else "error_title_403"]
    return render_page(
        request, "error.html", status=status, title=title, message=message, code=code
    )
