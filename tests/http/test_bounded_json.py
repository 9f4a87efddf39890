"""The piecewise JSON parser behind the webhook's alert limit: the same value as
json.loads, the same refusal of what is not JSON, and an array over its limit refused as
soon as the limit is passed, with the event loop served while a large body is parsed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receiver.web.bounded_json import ArrayTooLong, loads_bounded

DECODER = json.JSONDecoder()
KEY = "alerts"

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
documents = st.dictionaries(
    st.sampled_from([KEY, "receiver", "status", "x"]) | st.text(max_size=6),
    values | st.lists(values, max_size=12),
    max_size=5,
)
layouts = st.sampled_from(
    [
        {},
        {"indent": 2},
        {"separators": (",", ":")},
        {"indent": "\t", "separators": (" ,\n ", " :\r\n")},
    ]
)


def parse(text: str, limit: int) -> Any:
    return asyncio.run(loads_bounded(text, KEY, limit, DECODER))


# slow: 300 generated documents each, 15-30 s on a 2-core machine; the full run keeps them
@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(document=documents | values, layout=layouts, limit=st.integers(1, 6))
def test_same_value_as_json_loads_or_refused_over_the_limit(
    document: Any, layout: dict[str, Any], limit: int
) -> None:
    text = json.dumps(document, **layout)
    bounded = isinstance(document, dict) and isinstance(document.get(KEY), list)
    if bounded and len(document[KEY]) > limit:
        with pytest.raises(ArrayTooLong):
            parse(text, limit)
    else:
        assert parse(text, limit) == json.loads(text)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(document=documents, cut=st.integers(0, 400), junk=st.sampled_from(["", "]", "}", ",", "x"]))
def test_what_json_loads_refuses_is_refused(document: Any, cut: int, junk: str) -> None:
    text = json.dumps(document)
    broken = text[: cut % (len(text) + 1)] + junk
    try:
        expected = json.loads(broken)
    except ValueError:
        with pytest.raises((ValueError, ArrayTooLong)):
            parse(broken, 1000)
        return
    assert parse(broken, 1000) == expected


def test_the_parse_stops_as_soon_as_the_array_passes_its_limit() -> None:
    # what follows the sixth element is not JSON: only a parse that stopped there says
    # "too long" rather than "not JSON"
    text = '{"receiver": "x", "alerts": [' + "{}, " * 6 + "<never read>" * 100_000
    with pytest.raises(ArrayTooLong) as refused:
        parse(text, 5)
    assert (refused.value.key, refused.value.limit) == (KEY, 5)
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert parse('{"alerts": [' + "{}," * 4 + "{}]}", 5) == {"alerts": [{}] * 5}


def test_other_requests_are_served_while_a_large_body_is_parsed() -> None:
    text = json.dumps({KEY: [{"labels": {"n": str(i)}} for i in range(50_000)]})

    async def parse_beside_a_ticker() -> tuple[int, Any]:
        ticks = 0
        parsing = asyncio.create_task(loads_bounded(text, KEY, 100_000, DECODER))
        while not parsing.done():  # a handler that wants the loop now and then
            ticks += 1
            await asyncio.sleep(0)
        return ticks, parsing.result()

    ticks, value = asyncio.run(parse_beside_a_ticker())
    assert value == json.loads(text)
    assert ticks > 2  # the loop came round while the parse was under way
