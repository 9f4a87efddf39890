"""The webhook's quick check only ever says yes sooner: whatever it accepts, the full parse
(the one whose 4xx answers the API documents) accepts too, and the ordinary webhook is
accepted without it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_core import SchemaValidator

from receiver.alertmanager import quick_validation
from receiver.alertmanager.webhook import Webhook
from receiver.limits import Limits, webhook_problems
from receiver.web.api.quick_accept import plainly_acceptable
from receiver.web.body import parse_json
from receiver.web.errors import ApiError
from tests.conftest import capture

LIMITS = Limits(max_alerts=10_000, max_labels=8, max_value=200)


def _body(**changes: Any) -> str:
    body = capture("firing_single")
    body.update(changes)
    return json.dumps(body, ensure_ascii=False)


PLAIN = _body()


def _with_label(name: str, value: str) -> str:
    """The plain webhook with one more label; `value` is put in as written (JSON escapes
    and raw characters alike)."""
    return PLAIN.replace('"severity": "critical"', f'"severity": "critical", "{name}": "{value}"')


# each: the text as sent, and whether the quick check may say yes at once
CASES = {
    "an ordinary webhook": (PLAIN, True),
    "a NUL in a label (cleaned later, same length)": (_with_label("k", "a\\u0000b"), True),
    "NaN in an unknown field": (PLAIN[:-1] + ', "x": NaN}', False),
    "-Infinity in an unknown field": (PLAIN[:-1] + ', "x": -Infinity}', False),
    "NaN for truncatedAlerts": (
        PLAIN.replace('"truncatedAlerts": 0', '"truncatedAlerts": NaN'),
        False,
    ),
    "Infinity for a label's value": (_with_label("k", "x").replace('"x"', "Infinity"), False),
    "NaN for an end": (PLAIN.replace('"0001-01-01T00:00:00Z"', "NaN"), False),
    "an unknown field": (PLAIN[:-1] + ', "x": 1}', False),
    "an unknown field in an alert": (
        _with_label("k", "v").replace('"labels"', '"x": 1, "labels"'),
        False,
    ),
    "no zone on a start": (
        PLAIN.replace('"2026-11-26T19:11:48.606Z"', '"2026-11-26T19:11:48.606"'),
        False,
    ),
    "a start before 1970 by its offset": (
        PLAIN.replace('"2026-11-26T19:11:48.606Z"', '"1970-01-01T00:30:00+01:00"'),
        False,
    ),
    "a start in year 8999, east of UTC": (
        PLAIN.replace('"2026-11-26T19:11:48.606Z"', '"8999-12-31T23:30:00-01:00"'),
        False,
    ),
    "a start at the zero time": (
        PLAIN.replace('"2026-11-26T19:11:48.606Z"', '"0001-01-01T00:00:00Z"'),
        False,
    ),
    "an end at the zero time written otherwise": (
        PLAIN.replace('"0001-01-01T00:00:00Z"', '"0001-01-01T00:00:00+00:00"'),
        False,
    ),
    "an end at a real time": (
        PLAIN.replace('"0001-01-01T00:00:00Z"', '"2026-11-26T20:11:48.606+08:00"'),
        True,
    ),
    "no end": (PLAIN.replace('"0001-01-01T00:00:00Z"', "null"), True),
    "the word NaN in a string": (_with_label("k", "NaN"), True),
    "a lone surrogate": (_with_label("k", "\\ud800"), False),
    "a 5,000-digit number": (PLAIN[:-1] + ', "x": ' + "9" * 5000 + "}", False),
    "deep nesting in an unknown field": (
        PLAIN[:-1] + ', "x": ' + "[" * 300 + "]" * 300 + "}",
        False,
    ),
    "trailing data": (PLAIN + " x", False),
    "a byte order mark": ("\ufeff" + PLAIN, False),
    "a raw tab in a string": (_with_label("k", "a\tb"), False),
    "Grafana's version": (_body(version="1"), False),
    "too many labels": (
        PLAIN.replace(
            '"severity": "critical"', '"severity": "critical", "a": "1", "b": "2", "c": "3"'
        ),
        False,
    ),
    "a value over the length limit": (_with_label("k", "v" * 201), False),
    # long enough to hold more one-character elements than the limit, but not objects:
    # checked at once (a storm's large bodies); with more objects, left to the full parse
    "a body long enough for too many alerts": (_with_label("k", " " * 10), True),
    "a body with more objects than alerts may be": (_with_label("k", " " * 10), False),
    "no alerts": (_body(alerts=[]), False),
    "a number for a time": (PLAIN.replace('"2026-11-26T19:11:48.606Z"', "1764184308"), False),
    "a float for truncatedAlerts": (_body(truncatedAlerts=0.0), False),
    "the version twice, the later one right": ('{"version": "3", ' + PLAIN[1:], True),
    "the version twice, the later one wrong": (PLAIN[:-1] + ', "version": "3"}', False),
}


async def _fully_accepted(text: str, limits: Limits) -> bool:
    try:
        data = await parse_json(text)
        return isinstance(data, dict) and not webhook_problems(Webhook.parse(data), limits)
    except (ApiError, ValidationError):
        return False


@pytest.mark.parametrize("name", list(CASES))
async def test_quick_check_says_yes_only_to_what_the_full_parse_accepts(name: str) -> None:
    text, quick = CASES[name]
    limits = LIMITS
    if name == "a body long enough for too many alerts":
        limits = Limits(max_alerts=len(PLAIN) // 2 - 1, max_labels=8, max_value=200)
    if name == "a body with more objects than alerts may be":
        limits = Limits(max_alerts=text.count("{") - 1, max_labels=8, max_value=200)
    raw = text.encode("utf-8", "surrogatepass")
    assert plainly_acceptable(raw, text, limits) is quick
    if quick:
        assert await _fully_accepted(text, limits)


def test_the_quick_check_runs_no_python_validator() -> None:
    """Every Python validator on the webhook's fields has a stand-in in pydantic-core, so
    checking a hundred alerts calls no Python per alert."""

    def functions(schema: Any) -> list[str]:
        if isinstance(schema, list):
            return [name for item in schema for name in functions(item)]
        if not isinstance(schema, dict):
            return []
        own = [str(schema["function"])] if str(schema.get("type")).startswith("function-") else []
        return own + [name for value in schema.values() for name in functions(value)]

    assert functions(Webhook.__pydantic_core_schema__)  # the models do have some
    assert functions(quick_validation.webhook_schema(LIMITS)) == []


def test_the_quick_check_is_built_from_its_own_schema() -> None:
    """The quick check reads the models as typed dicts: pydantic-core would use a built
    model's own validator, clean-up and all, if the copied schema named the model
    classes. A NUL stays in the quick check's reading (the lengths the limits count are
    the ones sent), the full parse cleans it."""
    raw = _with_label("k", "a\\u0000b").encode()
    hook = SchemaValidator(quick_validation.webhook_schema(LIMITS)).validate_json(raw)
    assert isinstance(hook, dict)
    assert hook["alerts"][0]["labels"]["k"] == "a\x00b"
    assert Webhook.parse(json.loads(raw)).alerts[0].labels["k"] == "a\ufffdb"


def test_the_quick_check_reads_fields_by_alias_and_by_name_as_the_models_do() -> None:
    """Each model's config (names accepted beside aliases) and defaults go with its
    fields: an alert written with `starts_at` and without `endsAt` is read as the models
    read it, and a field they do not know is refused."""
    quick = SchemaValidator(quick_validation.webhook_schema(LIMITS))
    by_name = json.loads(PLAIN)
    alert = by_name["alerts"][0]
    alert["starts_at"] = alert.pop("startsAt")
    alert.pop("endsAt", None)
    read = quick.validate_json(json.dumps(by_name))
    assert read["alerts"][0]["starts_at"] == Webhook.parse(by_name).alerts[0].starts_at
    assert read["alerts"][0]["ends_at"] is None  # its default, as in the model
    alert["surprise"] = 1
    with pytest.raises(ValidationError):
        quick.validate_json(json.dumps(by_name))
