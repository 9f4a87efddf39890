"""Reading a JSON request body with the limits and errors every endpoint shares."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from receiver.web.errors import ApiError

JSON_TYPES = ("application/json",)


def is_number(raw: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts '²', which int() refuses."""
    return raw.isascii() and raw.isdigit()


async def read_json(
    request: web.Request, max_body: int, accepted: str = "application/json"
) -> tuple[Any, str]:
    """The parsed body and its text; 413, 415 or 400 when it cannot be one."""
    if request.content_length is not None and request.content_length > max_body:
        raise ApiError(
            413,
            "too_large",
            f"body of {request.content_length} bytes exceeds the "
            f"limit of {max_body} bytes (RECEIVER_MAX_BODY)",
        )
    content_type = request.headers.get("Content-Type")
    if content_type is not None:
        media = request.content_type
        if media not in JSON_TYPES and not media.endswith("+json"):
            raise ApiError(
                415,
                "unsupported_media_type",
                f"expected Content-Type {accepted}, got {media or 'none'}",
            )
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiError(
            413, "too_large", f"body exceeds the limit of {max_body} bytes (RECEIVER_MAX_BODY)"
        ) from exc
    if not raw:
        raise ApiError(400, "malformed", "the request body is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed", f"the body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        return json.loads(text, parse_constant=_no_constant), text
    except RecursionError as exc:
        raise ApiError(400, "malformed", "the JSON body is nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, a 5,000-digit number
        raise ApiError(400, "malformed", f"the body is not valid JSON: {exc}") from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
