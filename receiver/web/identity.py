"""Authentication for API and pages, CSRF for forms, and security headers."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from receiver.config import Settings
from receiver.web.auth_failures import client_address
from receiver.web.errors import ApiError, RateLimited, retry_after
from receiver.web.keys import AUTH_FAILURES, SESSIONS, SETTINGS
from receiver.web.redirects import safe_next
from receiver.web.session import Proof, Session, credentials_configured, proxy_proof

# The liveness probe and the login page itself need no identity; /metrics unless
# RECEIVER_METRICS_PUBLIC is false, and then it is treated like the API.
PUBLIC_PATHS = frozenset({"/healthz", "/login", "/favicon.ico"})
# The kubelet's readiness probe carries no credentials: it gets the bare verdict, and only
# a caller with the API's credentials gets the detail (which names paths and errors).
PROBE_PATHS = frozenset({"/readyz"})
PUBLIC_PREFIXES = ("/static/",)
# change feeds (issue 20) prove themselves by their own signature or token, checked by
# their handler (receiver.web.api.changes); `manual` and the list use the API's credentials
CHANGE_FEEDS_PREFIX = "/api/v1/changes/"
SELF_VERIFIED_FEEDS = frozenset({"flux", "argocd", "github", "gitlab", "kubernetes"})


@dataclass(frozen=True, slots=True)
class Identity:
    user: str
    via: str  # "credentials" | "proxy" | "session" | "open"
    # what rate limits count: the token, the basic-auth user, the session, the proxy's
    # user or (with no credentials configured) the address; never a header the caller
    # picks, such as X-Actor
    credential: str
    session: Session | None = None


IDENTITY = web.RequestKey("identity", Identity)


def credential_of(request: web.Request) -> str | None:
    """Who posted, as stored with an inbox entry: how they proved it and their name,
    never a token, password or session id."""
    identity = request.get(IDENTITY)
    return None if identity is None else f"{identity.via}:{identity.user}"[:64]


@dataclass(frozen=True, slots=True)
class Proven:
    user: str
    credential: str


def check_credentials(header: str, settings: Settings) -> Proven | None:
    """Who an Authorization header proves to be (basic auth: its user; bearer: "api")."""
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and settings.auth_token is not None:
        if not token_ok(value, settings):
            return None
        return Proven("api", _token_credential(value))
    if scheme.lower() == "basic" and settings.basic_auth_password is not None:
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        user, sep, password = decoded.partition(b":")
        if not (sep and basic_ok(user, password, settings)):
            return None
        name = user.decode(errors="replace")
        return Proven(name, "basic:" + name)
    return None


@functools.lru_cache(maxsize=16)
def _token_credential(token: str) -> str:
    """How a right token is named where it is stored (never the token itself); cached, as
    only configured tokens reach it and every webhook would hash its token again."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]


def login_proof(settings: Settings, name: str, secret: str) -> Proof | None:
    """What the login form's name and secret prove; None when they prove nothing."""
    if not name:
        return None
    if not credentials_configured(settings):
        return Proof("open")
    if settings.basic_auth_password is not None and basic_ok(
        name.encode(), secret.encode(), settings
    ):
        return Proof("basic", f"{name}\x00{settings.basic_auth_password.get_secret_value()}")
    if token_ok(secret, settings):
        return Proof("token", secret)
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


async def _api_identity(request: web.Request, settings: Settings) -> Identity | None:
    """Who an API request is: its credentials, the trusted proxy's word, or anyone when no
    credentials are configured; None when it proves nothing. An address that sent too
    many wrong credentials gets a 429 whatever it sends."""
    header = request.headers.get("Authorization", "")
    if header:
        proven = await _checked_credentials(request, header, settings)
        if proven is None:
            return None
        # a script may say on whose behalf it acts; the rate limits still count the token
        actor = request.headers.get("X-Actor", "").strip()[:200] or proven.user
        return Identity(actor, "credentials", proven.credential)
    proxy_user = _proxy_user(request, settings)
    if proxy_user is not None:
        return Identity(proxy_user, "proxy", "proxy:" + proxy_user)
    if not credentials_configured(settings):
        actor = request.headers.get("X-Actor", "").strip()[:200] or "api"
        return Identity(actor, "open", "address:" + client_address(request))
    return None


async def _checked_credentials(
    request: web.Request, header: str, settings: Settings
) -> Proven | None:
    if not credentials_configured(settings):
        return None  # nothing to guess: no failure is counted
    proven = check_credentials(header, settings)
    failures = request.app[AUTH_FAILURES]
    address = client_address(request)
    # right or wrong, an address that sent too many wrong credentials gets the same 429
    if proven is None:
        blocked = await failures.api_failed(address)
    else:
        blocked = await failures.api_wait(address)
    if blocked:
        raise RateLimited(
            "too many wrong credentials from this address; "
            f"retry in {retry_after(blocked.total_seconds())}s",
            blocked.total_seconds(),
        )
    return proven


async def authenticate(request: web.Request) -> None:
    """API: credentials (or the trusted proxy header); pages: a session (or the header).
    With no credentials configured the API is open and pages ask only for a name. Returns
    once the request may go on (with its identity when it has one); raises otherwise."""
    settings = request.app[SETTINGS]
    path = request.path
    public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
    if public or (path == "/metrics" and settings.metrics_public):
        return
    if request.method == "POST" and _self_verified_feed(path):
        return
    if path in PROBE_PATHS:
        identity = await _api_identity(request, settings)
        if identity is not None:
            request[IDENTITY] = identity
        return
    if path.startswith("/api/") or path == "/metrics":
        identity = await _api_identity(request, settings)
        if identity is None:
            if request.headers.get("Authorization"):
                raise ApiError(401, "unauthenticated", "the credentials are not valid")
            raise ApiError(401, "unauthenticated", "this endpoint needs an Authorization header")
        request[IDENTITY] = identity
        return
    # pages
    sessions = request.app[SESSIONS]
    session = await sessions.read(request)
    proxy_user = _proxy_user(request, settings)
    if proxy_user is not None and (session is None or session.user != proxy_user):
        # the proxy vouches for the user; a session still carries the CSRF token
        assert settings.trusted_proxy_header is not None
        response = web.HTTPSeeOther(safe_next(str(request.rel_url)))
        await sessions.start(
            response, proxy_user, proxy_proof(settings.trusted_proxy_header), replacing=session
        )
        raise response
    if session is None:
        if request.method in ("GET", "HEAD"):
            raise web.HTTPSeeOther("/login?" + urlencode({"next": str(request.rel_url)}))
        raise ApiError(401, "unauthenticated", "log in first")
    via = "proxy" if proxy_user else "session"
    request[IDENTITY] = Identity(session.user, via, "session:" + session.id[:16], session)


def _self_verified_feed(path: str) -> bool:
    return (
        path.startswith(CHANGE_FEEDS_PREFIX)
        and path.removeprefix(CHANGE_FEEDS_PREFIX) in SELF_VERIFIED_FEEDS
    )


def harden(response: web.StreamResponse) -> None:
    """The security headers every answer carries, errors and redirects too; a handler's
    own value of one is kept."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # no script at all; styles only from our own /static
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    )
