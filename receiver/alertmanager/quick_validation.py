"""The Alertmanager webhook validated straight from its bytes, for the accept path.

The accept path stores the raw body; what it must know is whether the applier will parse
it, and how many alerts, labels and characters it holds. pydantic reads JSON bytes in one
pass without building Python dicts first. The only Python it would still call is the
text fields' clean-up (receiver.text.without_nul, some 45 calls per webhook), which never
refuses a value and keeps every length: this validator is Webhook's own schema without it,
so the models stay the one declaration of what a webhook is.

pydantic-core builds a schema that names a built model class with that class's own
validator (clean-up and all), whatever the schema says: the copy names unbuilt subclasses
of Webhook and Alert instead, so that it is built from what it says.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic_core import SchemaValidator

from receiver.alertmanager.webhook import Webhook
from receiver.text import without_nul


def _without_cleanup(schema: Any) -> Any:
    """A copy of a core schema with every `without_nul` after-validator left out."""
    if isinstance(schema, dict):
        if schema.get("type") == "function-after" and _calls_cleanup(schema):
            return _without_cleanup(schema["schema"])
        copy = {key: _without_cleanup(value) for key, value in schema.items()}
        if copy.get("type") == "model":
            copy["cls"] = _unbuilt(copy["cls"])
        return copy
    if isinstance(schema, list):
        return [_without_cleanup(item) for item in schema]
    return schema


def _calls_cleanup(schema: dict[str, Any]) -> bool:
    function = schema.get("function")
    return isinstance(function, dict) and function.get("function") is without_nul


@functools.cache
def _unbuilt(model: type[BaseModel]) -> type[BaseModel]:
    """A subclass of `model` that pydantic leaves unbuilt (its instances are still `model`'s):
    pydantic-core takes no prebuilt validator from it."""
    namespace = {
        "__module__": model.__module__,
        "__qualname__": model.__qualname__,
        "model_config": ConfigDict(defer_build=True),
    }
    return type(model.__name__, (model,), namespace)


_VALIDATOR = SchemaValidator(_without_cleanup(Webhook.__pydantic_core_schema__))


def validate_webhook_bytes(raw: bytes) -> Webhook:
    """The webhook in `raw` (JSON), as Webhook.parse would accept it but with its text
    as sent (NULs and all: same lengths); pydantic's ValidationError otherwise, including
    for bytes that are not JSON."""
    hook = _VALIDATOR.validate_json(raw)
    assert isinstance(hook, Webhook)
    return hook
