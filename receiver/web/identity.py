"""Authentication for API and pages, CSRF for forms, and security headers."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from receiver.config import Settings
from receiver.web.errors import ApiError
from receiver.web.keys import SESSIONS, SETTINGS
from receiver.web.session import Session, credentials_configured

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The liveness probe and the login page itself need no identity; /metrics unless
# RECEIVER_METRICS_PUBLIC is false, and then it is treated like the API.
PUBLIC_PATHS = frozenset({"/healthz", "/login", "/favicon.ico"})
# The kubelet's readiness probe carries no credentials: it gets the bare verdict, and only
# a caller with the API's credentials gets the detail (which names paths and errors).
PROBE_PATHS = frozenset({"/readyz"})
PUBLIC_PREFIXES = ("/static/",)


@dataclass(frozen=True, slots=True)
class Identity:
    user: str
    via: str  # "credentials" | "proxy" | "session" | "open"
    session: Session | None = None


IDENTITY = web.RequestKey("identity", Identity)


def check_credentials(header: str, settings: Settings) -> str | None:
    """The user an Authorization header proves (basic auth: its user; bearer: "api")."""
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and settings.auth_token is not None:
        return "api" if token_ok(value, settings) else None
    if scheme.lower() == "basic" and settings.basic_auth_password is not None:
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        user, sep, password = decoded.partition(b":")
        return user.decode(errors="replace") if sep and basic_ok(user, password, settings) else None
    return None


def basic_ok(user: bytes, password: bytes, settings: Settings) -> bool:
    assert settings.basic_auth_password is not None
    expected_user = (settings.basic_auth_user or "").encode()
    expected_password = settings.basic_auth_password.get_secret_value().encode()
    # compare both halves every time so timing does not reveal which one failed
    user_ok = hmac.compare_digest(user, expected_user)
    password_ok = hmac.compare_digest(password, expected_password)
    return user_ok and password_ok


def token_ok(token: str, settings: Settings) -> bool:
    # compare with every accepted token, always all of them: timing tells nothing
    given = token.encode()
    matches = [hmac.compare_digest(given, expected) for expected in settings.api_tokens()]
    return any(matches)


def _proxy_user(request: web.Request, settings: Settings) -> str | None:
    if settings.trusted_proxy_header is None:
        return None
    value = request.headers.get(settings.trusted_proxy_header, "").strip()
    return value[:200] or None


def _api_identity(request: web.Request, settings: Settings) -> Identity | None:
    """Who an API request is: its credentials, the trusted proxy's word, or anyone when no
    credentials are configured; None when it proves nothing."""
    header = request.headers.get("Authorization", "")
    if header:
        user = check_credentials(header, settings)
        if user is None:
            return None
        # a script may say on whose behalf it acts
        actor = request.headers.get("X-Actor", "").strip()[:200] or user
        return Identity(actor, "credentials")
    proxy_user = _proxy_user(request, settings)
    if proxy_user is not None:
        return Identity(proxy_user, "proxy")
    if not credentials_configured(settings):
        actor = request.headers.get("X-Actor", "").strip()[:200] or "api"
        return Identity(actor, "open")
    return None


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """API: credentials (or the trusted proxy header); pages: a session (or the header).
    With no credentials configured the API is open and pages ask only for a name."""
    settings = request.app[SETTINGS]
    public = request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES)
    if public or (request.path == "/metrics" and settings.metrics_public):
        return await handler(request)
    if request.path in PROBE_PATHS:
        identity = _api_identity(request, settings)
        if identity is not None:
            request[IDENTITY] = identity
        return await handler(request)
    session = request.app[SESSIONS].read(request)
    proxy_user = _proxy_user(request, settings)
    if request.path.startswith("/api/") or request.path == "/metrics":
        identity = _api_identity(request, settings)
        if identity is None:
            if request.headers.get("Authorization"):
                raise ApiError(401, "unauthenticated", "the credentials are not valid")
            raise ApiError(401, "unauthenticated", "this endpoint needs an Authorization header")
        request[IDENTITY] = identity
        return await handler(request)
    # pages
    if proxy_user is not None and (session is None or session.user != proxy_user):
        # the proxy vouches for the user; a session still carries the CSRF token
        response = web.HTTPSeeOther(request.rel_url)
        request.app[SESSIONS].start(response, proxy_user)
        raise response
    if session is None:
        if request.method in ("GET", "HEAD"):
            raise web.HTTPSeeOther("/login?" + urlencode({"next": str(request.rel_url)}))
        raise ApiError(401, "unauthenticated", "log in first")
    request[IDENTITY] = Identity(session.user, "proxy" if proxy_user else "session", session)
    return await handler(request)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _harden(exc)
        raise
    _harden(response)
    return response


def _harden(response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # no script at all; styles only from our own /static
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    )
