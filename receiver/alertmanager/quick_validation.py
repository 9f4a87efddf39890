"""Whether an Alertmanager webhook is plainly valid, checked straight from its bytes for
the accept path, with no Python called per field.

The accept path stores the raw body; what it must know is whether the applier will parse
it, and whether its alerts, labels and characters are within the limits. pydantic-core
reads JSON bytes in one pass. What Webhook's own schema would still call in Python, per
alert, is swapped for pydantic-core's own checks that accept no more than it does:
- the text clean-up (receiver.text.without_nul) never refuses a value and keeps every
  length: left out;
- `_rfc3339_text` (a time must be text): a strict datetime, which in JSON takes only text;
- the alert's time checks (a zone, inside the accepted span; an end at Go's zero time
  means none): a zone required, a span a day narrower at each end so that no offset can
  carry a time past it, and for the end Go's zero time exactly as Alertmanager writes it;
- the limits (receiver.limits.webhook_problems): how many labels and annotations an
  alert has, and how long their names and values are.
Whatever this refuses goes to the full parse, whose answers (and 4xx) are the only ones,
so being stricter only costs time. The models stay the one declaration of a webhook.

Nothing reads what the check builds, so the copy reads each model as a typed dict with
the same fields, aliases and config: a dict is cheaper to build than a model instance
(a storm's hundred-alert body: 0.75 -> 0.50 ms). It also names no model class, whose
own built validator pydantic-core would use whatever the schema says.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from pydantic_core import SchemaValidator

from receiver.alertmanager.webhook import Alert, Webhook, rfc3339_text
from receiver.domain.moments import EARLIEST, END
from receiver.limits import Limits
from receiver.text import without_nul

# the accepted span, a day narrower at each end: an offset is under a day, so a time
# inside these is inside the span whatever its zone
_QUICK_EARLIEST = EARLIEST + timedelta(days=1)
_QUICK_END = END - timedelta(days=1)
# Go's zero time, Alertmanager's "no end yet", as it writes it
_GO_ZERO_TIME = "0001-01-01T00:00:00Z"

Schema = dict[str, Any]


def _time_in_span(schema: Schema) -> Schema:
    return {**schema, "tz_constraint": "aware", "ge": _QUICK_EARLIEST, "lt": _QUICK_END}


def _end_in_span_or_none(schema: Schema) -> Schema:
    """The end's `nullable` around its time: the time in span, or Go's zero time."""
    zero = {"type": "literal", "expected": [_GO_ZERO_TIME]}
    time = _time_in_span(schema["schema"])
    # the zero time first: a firing alert's end is refused by the span, and building
    # that refusal for every alert cost more than comparing a resolved one's to a literal
    return {**schema, "schema": {"type": "union", "choices": [zero, time]}}


# the Python validators on the webhook's fields, each with what stands in for it: given
# the schema it wraps (already swapped), the schema that replaces the pair
_STAND_INS: dict[Callable[..., Any], Callable[[Schema], Schema]] = {
    without_nul: lambda inner: inner,
    rfc3339_text: lambda inner: {**inner, "strict": True},
    Alert.starts_at_utc.__func__: _time_in_span,  # type: ignore[attr-defined]
    Alert.ends_at_utc.__func__: _end_in_span_or_none,  # type: ignore[attr-defined]
}


def _stand_in(schema: Schema) -> Callable[[Schema], Schema] | None:
    if not str(schema.get("type", "")).startswith("function-"):
        return None
    function = schema.get("function")
    called = function.get("function") if isinstance(function, dict) else None
    return _STAND_INS.get(getattr(called, "__func__", called))  # type: ignore[arg-type]


def _swapped(schema: Any) -> Any:
    """A copy of a core schema with every Python validator in _STAND_INS swapped for its
    stand-in (any other stays: it is as strict as it was)."""
    if isinstance(schema, list):
        return [_swapped(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    stand_in = _stand_in(schema)
    if stand_in is not None:
        return stand_in(_swapped(schema["schema"]))
    if schema.get("type") == "model":
        return _as_typed_dict(_swapped(schema["schema"]), schema.get("config", {}))
    return {key: _swapped(value) for key, value in schema.items()}


def _as_typed_dict(fields: Schema, config: Schema) -> Schema:
    """A model's (swapped) fields schema as a typed dict: the same fields with the same
    aliases, defaults and config (names accepted beside aliases)."""
    return {
        "type": "typed-dict",
        "fields": {
            name: {
                "type": "typed-dict-field",
                "schema": field["schema"],
                # a field with a default may be left out, as in the model
                "required": field["schema"]["type"] != "default",
                **(
                    {"validation_alias": field["validation_alias"]}
                    if "validation_alias" in field
                    else {}
                ),
            }
            for name, field in fields["fields"].items()
        },
        # Alertmanager sends no field the models leave out; a body with one takes the
        # full parse, so a value JSON has no word for (NaN, Infinity, which pydantic's
        # reader takes) can only come in a field whose type refuses it
        "extra_behavior": "forbid",
        "config": config,
    }


def _within(schema: Schema, limits: Limits) -> Schema:
    """The swapped Webhook schema with the limits on its alerts' labels and annotations."""
    # (the number of alerts needs no check: a body with more "{" than RECEIVER_MAX_ALERTS
    # is not checked here, see receiver.web.api.quick_accept)
    alerts = schema["fields"]["alerts"]["schema"]
    alert_fields = alerts["items_schema"]["fields"]
    for name in ("labels", "annotations"):
        labels = alert_fields[name]["schema"]
        if labels["type"] == "default":
            labels = labels["schema"]
        labels["max_length"] = limits.max_labels
        for part in ("keys_schema", "values_schema"):
            labels[part] = {**labels[part], "max_length": limits.max_value}
    return schema


def webhook_schema(limits: Limits) -> Schema:
    """The core schema the quick check validates with."""
    return _within(_swapped(Webhook.__pydantic_core_schema__), limits)


@functools.lru_cache(maxsize=8)
def _validator(limits: Limits) -> SchemaValidator:
    return SchemaValidator(webhook_schema(limits))


def plainly_valid_webhook(raw: bytes, limits: Limits) -> bool:
    """True only when `raw` (JSON) is a webhook that Webhook.parse accepts and whose alerts
    are within `limits`; False may also mean it needs the full parse to say."""
    try:
        _validator(limits).validate_json(raw)
    except ValidationError:
        return False
    return True
