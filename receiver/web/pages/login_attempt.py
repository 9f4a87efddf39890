"""Whether a login form may open a session: its CSRF token, the throttle on guessing,
and what its name and secret prove. The answer is a proof or why not, never a page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from receiver.web.auth_failures import client_address
from receiver.web.errors import retry_after
from receiver.web.identity import login_proof
from receiver.web.keys import AUTH_FAILURES, SETTINGS
from receiver.web.session import LOGIN_CSRF_COOKIE, Proof, credentials_configured, csrf_ok


@dataclass(frozen=True, slots=True)
class Accepted:
    name: str
    proof: Proof


@dataclass(frozen=True, slots=True)
class Refused:
    problem: str  # the UI text that says why (receiver.web.pages.ui_text.UI)
    status: int
    retry_after: int = 0  # seconds, for a 429


async def check_login(request: web.Request, form: Mapping[str, object]) -> Accepted | Refused:
    settings = request.app[SETTINGS]
    token = str(form.get("csrf_token", ""))
    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), token):
        return Refused("login_stale", 403)
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
            return Refused("login_blocked", 429, retry_after(blocked.total_seconds()))
    proof = login_proof(settings, name, secret)
    if proof is None:
        if name:
            return Refused("login_invalid", 401)
        needs_secret = credentials_configured(settings)
        return Refused("login_missing" if needs_secret else "login_need_name", 401)
    if counted:
        await failures.login_succeeded(address, name)  # the try counted: forgiven
    return Accepted(name, proof)
