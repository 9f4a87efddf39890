"""The middleware: request id and access log, authentication, the body, JSON errors and
security headers, in that order for every request."""

from __future__ import annotations

import itertools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from structlog.typing import FilteringBoundLogger

from receiver.domain.review import InvalidTransition, ReviewLocked
from receiver.store import StoreUnavailable
from receiver.usecases.errors import (
    EvidenceNotReady,
    InboxFull,
    IncidentNotFound,
    NoOpenIncident,
    NotPromotable,
)
from receiver.web.body import read_body
from receiver.web.errors import ApiError, Overloaded, wants_html
from receiver.web.identity import authenticate, harden
from receiver.web.keys import METRICS
from receiver.web.pages.error_page import PAGE_ERROR_STATUSES, error_page, is_page

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = structlog.get_logger("receiver.http")
# seconds a client is asked to wait after a 503 from the database: a lock or a full pool
# usually clears within them (Alertmanager keeps its own backoff either way)
STORE_RETRY_AFTER_S = 5


# request ids: this process's random prefix and a counter (uuid4 per request read
# os.urandom each time, a system call on the webhook's hot path)
_ID_PREFIX = uuid.uuid4().hex[:16]
_id_counter = itertools.count(1)


def _new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


class _AccessLog:
    """The request line's logger, resolved once when structlog is told to cache loggers on
    first use (as `serve` tells it): through the lazy proxy each call resolves it again,
    which cost as much as the rest of the line's work when INFO is off."""

    def __init__(self) -> None:
        self._resolved: FilteringBoundLogger | None = None

    def logger(self) -> FilteringBoundLogger:
        if self._resolved is not None:
            return self._resolved
        resolved: FilteringBoundLogger = log.bind()
        if structlog.get_config()["cache_logger_on_first_use"]:
            self._resolved = resolved
        return resolved


_access_log = _AccessLog()


@web.middleware
async def front_door(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request's way in, the app's only middleware: a request id bound for every log
    line it causes and one access line, authentication, the body read, errors as JSON
    (a page's as a page), the security headers. One coroutine rather than one per concern:
    each layer cost the webhook's hot path a frame, a partial and an await."""
    request_id = request.headers.get("X-Request-Id", "")[:64] or _new_request_id()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    status = 500
    try:
        try:
            await authenticate(request)
            await read_body(request)
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status >= 400:
                response = error_response(request, exc)
            else:  # redirects travel as exceptions
                harden(exc)
                status = exc.status
                exc.headers["X-Request-Id"] = request_id
                raise
        except Exception as exc:
            response = error_response(request, exc)
        response = page_errors(request, response)
        harden(response)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    finally:
        logger = _access_log.logger()
        if logger.is_enabled_for(logging.INFO):  # else its fields are not worth working out
            logger.info(
                "request",
                method=request.method,
                path=request.path,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                remote=request.remote,
            )


def page_errors(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """A page's 403 or 404 (JSON from error_response) becomes a page for people: for a
    browser, which asks for HTML; a script asking for anything else keeps the JSON."""
    if (
        response.status in PAGE_ERROR_STATUSES
        and is_page(request.path)
        and wants_html(request)
        and isinstance(response, web.Response)
        and response.content_type == "application/json"
    ):
        code = json.loads(response.text or "{}").get("error", "")
        return error_page(request, response.status, str(code))
    return response


def error_response(request: web.Request, exc: Exception) -> web.Response:
    """The JSON answer for what a handler (or authentication, or the body read) raised;
    called while `exc` is being handled, so that a bug's traceback reaches the log."""
    if isinstance(exc, ApiError):
        return exc.response()
    if isinstance(exc, InvalidTransition | ReviewLocked | EvidenceNotReady | NotPromotable):
        return ApiError(409, "conflict", str(exc)).response()
    if isinstance(exc, InboxFull):
        return Overloaded(str(exc), exc.retry_after).response()
    if isinstance(exc, NoOpenIncident):
        return ApiError(404, "no_open_incident", str(exc)).response()
    if isinstance(exc, IncidentNotFound):
        return ApiError(404, "not_found", str(exc)).response()
    if isinstance(exc, StoreUnavailable):
        request.app[METRICS].store_errors.labels(where="http").inc()
        log.error("store.unavailable", error=str(exc))
        response = ApiError(
            503, "store_unavailable", "the database is unavailable; retry later"
        ).response()
        response.headers["Retry-After"] = str(STORE_RETRY_AFTER_S)
        return response
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return ApiError(413, "too_large", exc.text or "request body too large").response()
    if isinstance(exc, web.HTTPException):  # 4xx and 5xx only: redirects are not errors
        response = ApiError(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason).response()
        if "Allow" in exc.headers:  # a 405 says which methods would do
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    # a bug: the caller still gets JSON, the traceback goes to the log
    log.exception("request.failed", method=request.method, path=request.path)
    return ApiError(500, "internal", "the receiver failed; see its log").response()
