"""The login page, logging in and out."""

from __future__ import annotations

import secrets

from aiohttp import web

from receiver.web.errors import ApiError, wants_html
from receiver.web.keys import SESSIONS, SETTINGS
from receiver.web.pages.login_attempt import Refused, check_login
from receiver.web.pages.render import (
    check_csrf,
    render_page,
)
from receiver.web.pages.ui_text import UI
from receiver.web.redirects import safe_next
from receiver.web.session import LOGIN_CSRF_COOKIE, credentials_configured


async def login_page(request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
    settings = request.app[SETTINGS]
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render_page(
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
    outcome = await check_login(request, form)
    if isinstance(outcome, Refused):
        return await _refused(request, outcome)
    response = web.HTTPSeeOther(safe_next(str(form.get("next", "/"))))
    await request.app[SESSIONS].start(response, outcome.name, outcome.proof)
    raise response


async def _refused(request: web.Request, refused: Refused) -> web.Response:
    """The form again, saying why in the receiver's language (a script that did not ask
    for a page gets the reason as the JSON error every 4xx carries)."""
    text = UI[request.app[SETTINGS].language][refused.problem]
    message = text.format(seconds=refused.retry_after)
    if wants_html(request):
        page = await login_page(request, error=message, status=refused.status)
    else:
        page = ApiError(refused.status, refused.problem, message).response()
    if refused.retry_after:
        page.headers["Retry-After"] = str(refused.retry_after)
    return page


async def logout(request: web.Request) -> web.Response:
    form = await request.post()
    check_csrf(request, form)
    response = web.HTTPSeeOther("/login")
    await request.app[SESSIONS].end(request, response)
    raise response
