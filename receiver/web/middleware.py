"""Middlewares: request id and access log, JSON errors, authentication."""

from __future__ import annotations

import base64
import binascii
import hmac
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from receiver.config import Settings
from receiver.service import IncidentNotFound, NoOpenIncident
from receiver.store import StoreUnavailable
from receiver.web.errors import ApiError
from receiver.web.keys import SETTINGS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = structlog.get_logger("receiver.http")

# Paths anyone may read: probes and scrapers rarely carry the webhook token.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


@web.middleware
async def request_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One log line per request, with a request id bound for every line it causes."""
    request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    finally:
        log.info(
            "request",
            method=request.method,
            path=request.path,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            remote=request.remote,
        )


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except NoOpenIncident as exc:
        return ApiError(404, "no_open_incident", str(exc)).response()
    except IncidentNotFound as exc:
        return ApiError(404, "not_found", str(exc)).response()
    except StoreUnavailable as exc:
        log.error("store.unavailable", error=str(exc))
        return ApiError(
            503, "store_unavailable", "the database is unavailable; retry later"
        ).response()
    except web.HTTPRequestEntityTooLarge as exc:
        return ApiError(413, "too_large", exc.text or "request body too large").response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return ApiError(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason).response()


def _credentials_ok(header: str, settings: Settings) -> bool:
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and settings.auth_token is not None:
        expected = settings.auth_token.get_secret_value().encode()
        return hmac.compare_digest(value.encode(), expected)
    if scheme.lower() == "basic" and settings.basic_auth_password is not None:
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        expected_user = (settings.basic_auth_user or "").encode()
        expected_password = settings.basic_auth_password.get_secret_value().encode()
        # compare both halves every time so timing does not reveal which one failed
        user_ok = hmac.compare_digest(user, expected_user)
        password_ok = hmac.compare_digest(password, expected_password)
        return bool(sep) and user_ok and password_ok
    return False


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """When a token or basic auth is configured, the API needs one of them."""
    settings = request.app[SETTINGS]
    configured = settings.auth_token is not None or settings.basic_auth_password is not None
    if configured and request.path not in PUBLIC_PATHS:
        header = request.headers.get("Authorization", "")
        if not header:
            raise ApiError(401, "unauthenticated", "this endpoint needs an Authorization header")
        if not _credentials_ok(header, settings):
            raise ApiError(401, "unauthenticated", "the credentials are not valid")
    return await handler(request)
