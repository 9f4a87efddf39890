"""Request bodies: read for every route before its handler runs, bounded in size and in
time, every way aiohttp can fail to read one answered as a JSON 4xx; and JSON bodies
parsed with the limits every endpoint shares."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from receiver.web.bounded_json import ArrayTooLong, loads_bounded
from receiver.web.errors import ApiError
from receiver.web.keys import METRICS, SETTINGS, WEBHOOK_ROUTE

JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# the methods whose bodies a handler reads; a body on a GET is left unread
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class ArrayLimit:
    """At most `most` elements in the top-level object's array `key`; the parse stops
    as soon as there are more."""

    key: str
    most: int
    setting: str


def is_number(raw: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts '²', which int() refuses."""
    return raw.isascii() and raw.isdigit()


async def read_body(request: web.Request) -> None:
    """Read the whole body, and parse it when it is a form, before the handler runs: the
    handler's own request.read() or request.post() then answers from memory, and no route
    can forget a limit or let one of aiohttp's errors become a 500. After authentication,
    so that only a caller who may use the route gets its body read."""
    if request.method in BODY_METHODS and request.body_exists:
        try:
            await _read_in_time(request)
        except ApiError as exc:
            if request.match_info.route.name == WEBHOOK_ROUTE:  # a webhook lost: count it
                request.app[METRICS].webhooks.labels(result="rejected", reason=exc.code).inc()
            raise


async def _read_in_time(request: web.Request) -> None:
    settings = request.app[SETTINGS]
    if request.content.is_eof():
        # the whole body came with the headers (a webhook nearly always does): reading it
        # cannot wait, so no timer is armed and cancelled for it
        await _read_whole(request, settings.max_body)
        return
    seconds = settings.body_read_timeout.total_seconds()
    try:
        # a body that trickles in (or a broken chunk that aiohttp's C parser never
        # reports to the reader) ends here rather than holding the request open
        async with asyncio.timeout(seconds):
            await _read_whole(request, settings.max_body)
    except TimeoutError as exc:
        raise ApiError(
            408,
            "body_timeout",
            f"the body did not arrive within {seconds:g}s (RECEIVER_BODY_READ_TIMEOUT)",
        ) from exc


async def _read_whole(request: web.Request, max_body: int) -> None:
    length = request.content_length  # parsed from the header at each look
    if length is not None and length > max_body:
        raise _too_large(f"body of {length} bytes exceeds", max_body)
    try:
        if request.content_type in FORM_TYPES:
            await request.post()
        else:
            await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        if "form fields" in (exc.text or ""):
            raise ApiError(
                413, "too_large", f"the form has more than {request.client_max_fields} fields"
            ) from exc
        raise _too_large("body exceeds", max_body) from exc
    except (HttpProcessingError, web.RequestPayloadError) as exc:
        # a broken chunk or compressed stream, a multipart header line too long
        raise ApiError(400, "malformed", f"the body cannot be read: {_reason(exc)}") from exc
    except LookupError as exc:  # charset=no-such-codec, of the body or of a form's part
        raise ApiError(415, "unsupported_media_type", f"the charset: {_reason(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise ApiError(
            400, "malformed", f"the form is not valid {exc.encoding} (byte {exc.start})"
        ) from exc
    except (ValueError, RuntimeError, TypeError) as exc:
        # multipart without a boundary or with a broken one, a nested multipart, a part in
        # an unknown transfer encoding: aiohttp's form reader says so with these
        raise ApiError(400, "malformed", f"the form cannot be read: {_reason(exc)}") from exc
    except ConnectionResetError as exc:  # nobody reads this answer; the log says 400
        raise ApiError(400, "incomplete", "the client went away before the body ended") from exc


def _too_large(what: str, max_body: int) -> ApiError:
    return ApiError(413, "too_large", f"{what} the limit of {max_body} bytes (RECEIVER_MAX_BODY)")


def _reason(exc: Exception) -> str:
    """aiohttp's message on one line, without its "400, message:" prefix."""
    text = exc.message if isinstance(exc, HttpProcessingError) else str(exc)
    text = re.sub(r"^\d{3}, message:\s*", "", text)
    return " ".join(text.split())[:300] or type(exc).__name__


async def read_json(
    request: web.Request,
    max_body: int,
    accepted: str = "application/json",
    *,
    limit: ArrayLimit | None = None,
) -> tuple[Any, str]:
    """The parsed body and its text; 413, 415 or 400 when it cannot be one."""
    _, text = await read_json_text(request, max_body, accepted)
    return await parse_json(text, limit), text


async def read_json_text(
    request: web.Request, max_body: int, accepted: str = "application/json"
) -> tuple[bytes, str]:
    """The body, as bytes and as text, when it may be JSON; 413, 415 or 400 when it cannot
    be (too large, another media type, empty, not UTF-8)."""
    length = request.content_length  # parsed from the header at each look
    if length is not None and length > max_body:
        raise _too_large(f"body of {length} bytes exceeds", max_body)
    content_type = request.headers.get("Content-Type")
    if content_type is not None:
        media = request.content_type
        if media not in JSON_TYPES and not media.endswith("+json"):
            raise ApiError(
                415,
                "unsupported_media_type",
                f"expected Content-Type {accepted}, got {media or 'none'}",
            )
    raw = await request.read()  # read_body has read it, within the limits
    if not raw:
        raise ApiError(400, "malformed", "the request body is empty")
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed", f"the body is not valid UTF-8 (byte {exc.start})") from exc


async def parse_json(text: str, limit: ArrayLimit | None = None) -> Any:
    """The JSON value of `text`, with `limit` on one array of it; 413 or 400 otherwise."""
    try:
        if limit is None:
            return _DECODER.decode(text)
        try:
            return await loads_bounded(text, limit.key, limit.most, _DECODER)
        except ArrayTooLong as exc:
            message = f"more than {limit.most} {limit.key} ({limit.setting})"
            raise ApiError(
                413,
                "too_large",
                f"the body is over a limit: {limit.key}: {message}",
                [{"field": limit.key, "message": message}],
            ) from exc
    except RecursionError as exc:
        raise ApiError(400, "malformed", "the JSON body is nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, a 5,000-digit number
        raise ApiError(400, "malformed", f"the body is not valid JSON: {exc}") from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# NaN and Infinity are Python's extensions, not JSON
_DECODER = json.JSONDecoder(parse_constant=_no_constant)
