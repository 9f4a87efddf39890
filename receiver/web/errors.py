"""Every error leaves as JSON: {"error": code, "message": text, "details": [...]}."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from receiver.web.serialize import json_response


class ApiError(Exception):
    """An error answer: HTTP status, a stable code and a message for people."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,  # more top-level keys, e.g. what is missing
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.extra = extra or {}

    def response(self) -> web.Response:
        body: dict[str, Any] = {**self.extra, "error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        headers = (
            {"WWW-Authenticate": 'Bearer realm="postmortem-receiver"'}
            if (self.status == 401)
            else None
        )
        return json_response(body, status=self.status, headers=headers)


def invalid_input(code: str, what: str, exc: ValidationError) -> ApiError:
    """A 422 whose message names the first failing field; details list them all."""
    details = validation_details(exc)
    first = details[0]
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return ApiError(422, code, f"{what}: {first['field']}: {first['message']}{more}", details)


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors as field paths in the payload's own names (alerts.0.startsAt)."""
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]) or "(body)",
            "message": error["msg"],
        }
        for error in exc.errors(include_url=False, include_input=False)
    ]


class RateLimited(ApiError):
    """A 429 that says when to come back: Retry-After in whole seconds, rounded up."""

    def __init__(self, message: str, wait_seconds: float) -> None:
        super().__init__(429, "rate_limited", message)
        self.retry_after = retry_after(wait_seconds)

    def response(self) -> web.Response:
        response = super().response()
        response.headers["Retry-After"] = str(self.retry_after)
        return response


class Overloaded(ApiError):
    """A 503 that says when to come back (the inbox is full)."""

    def __init__(self, message: str, wait_seconds: float) -> None:
        super().__init__(503, "inbox_full", message)
        self.retry_after = retry_after(wait_seconds)

    def response(self) -> web.Response:
        response = super().response()
        response.headers["Retry-After"] = str(self.retry_after)
        return response


def retry_after(wait_seconds: float) -> int:
    return max(1, math.ceil(wait_seconds))


def wants_html(request: web.Request) -> bool:
    """Whether the client asked for a page (browsers send `Accept: text/html,…`)."""
    return "text/html" in request.headers.get("Accept", "")
