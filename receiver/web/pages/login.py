"""The login page, logging in and out."""

from __future__ import annotations

import secrets

from aiohttp import web

from receiver.web.auth_failures import client_address
from receiver.web.errors import ApiError, retry_after
from receiver.web.identity import login_proof
from receiver.web.keys import AUTH_FAILURES, SESSIONS, SETTINGS
from receiver.web.pages.render import (
    check_csrf,
    render_page,
)
from receiver.web.pages.ui_text import UI
from receiver.web.redirects import safe_next
from receiver.web.session import LOGIN_CSRF_COOKIE, credentials_configured, csrf_ok


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
    check_csrf(request, form)
    response = web.HTTPSeeOther("/login")
    await request.app[SESSIONS].end(request, response)
    raise response
