"""JSON parsed a piece at a time, so that one array of the top-level object is held to a
limit while it is parsed.

json.loads reads a whole 8 MiB body in one go (a tenth of a second and more, while the
event loop serves nobody) before anything in it can be counted, and validating every
alert of an oversized webhook costs several times that. Here the top-level object is
walked key by key and the bounded array element by element, each piece by the C decoder
(`raw_decode`): the walk stops as soon as the array has more elements than its limit,
and between elements it lets the loop serve other requests every millisecond.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

_SPACE = re.compile(r"[ \t\n\r]*")
# longest stretch of parsing before other requests get their turn: a request arriving
# waits for a slice of each body being parsed, a round or two, so slices stay short
_SLICE_SECONDS = 0.001


class ArrayTooLong(Exception):
    """The bounded array has more elements than its limit (how many more is not known:
    the parse stopped there)."""

    def __init__(self, key: str, limit: int) -> None:
        super().__init__(f"{key} has more than {limit} elements")
        self.key = key
        self.limit = limit


def could_exceed(text: str, limit: int) -> bool:
    """Whether `text` is long enough to hold an array of more than `limit` elements."""
    # an array of limit + 1 elements takes at least "[" + limit + 1 one-character
    # elements + limit commas + "]": shorter text cannot hold one, so parse it at once
    return len(text) >= 2 * limit + 3


async def loads_bounded(text: str, key: str, limit: int, decoder: json.JSONDecoder) -> Any:
    """decoder.decode(text), the same value and the same ValueError for text that is not
    JSON; but when the top-level object's `key` is an array of more than `limit` elements,
    ArrayTooLong as soon as the element after the limit begins."""
    if not could_exceed(text, limit):  # every ordinary webhook
        return decoder.decode(text)
    pos = _skip(text, 0)
    if not text.startswith("{", pos):
        return decoder.decode(text)
    value, pos = await _object(text, pos, key, limit, decoder)
    pos = _skip(text, pos)
    if pos != len(text):
        raise json.JSONDecodeError("Extra data", text, pos)
    return value


async def _object(
    text: str, pos: int, key: str, limit: int, decoder: json.JSONDecoder
) -> tuple[dict[str, Any], int]:
    """The object starting at text[pos] ("{"), walked member by member."""
    members: dict[str, Any] = {}
    pos = _skip(text, pos + 1)
    if text.startswith("}", pos):
        return members, pos + 1
    while True:
        if not text.startswith('"', pos):
            raise json.JSONDecodeError(
                "Expecting property name enclosed in double quotes", text, pos
            )
        name, pos = decoder.raw_decode(text, pos)
        pos = _skip(text, pos)
        if not text.startswith(":", pos):
            raise json.JSONDecodeError("Expecting ':' delimiter", text, pos)
        pos = _skip(text, pos + 1)
        if name == key and text.startswith("[", pos):
            members[name], pos = await _bounded_array(text, pos, key, limit, decoder)
        else:
            members[name], pos = decoder.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text.startswith("}", pos):
            return members, pos + 1
        if not text.startswith(",", pos):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
        pos = _skip(text, pos + 1)


async def _bounded_array(
    text: str, pos: int, key: str, limit: int, decoder: json.JSONDecoder
) -> tuple[list[Any], int]:
    """The array starting at text[pos] ("["), element by element, at most `limit`."""
    elements: list[Any] = []
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        return elements, pos + 1
    slice_started = time.perf_counter()
    while True:
        element, pos = decoder.raw_decode(text, pos)
        elements.append(element)
        pos = _skip(text, pos)
        if text.startswith("]", pos):
            return elements, pos + 1
        if not text.startswith(",", pos):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
        if len(elements) >= limit:  # a comma after the last one allowed: one too many
            raise ArrayTooLong(key, limit)
        pos = _skip(text, pos + 1)
        if time.perf_counter() - slice_started > _SLICE_SECONDS:
            await asyncio.sleep(0)  # let the loop answer probes and other requests
            slice_started = time.perf_counter()


def _skip(text: str, pos: int) -> int:
    """The position of the first character at or after `pos` that is not whitespace."""
    match = _SPACE.match(text, pos)
    assert match is not None  # the pattern matches the empty string
    return match.end()
