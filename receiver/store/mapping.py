"""Rows ↔ models from one declaration: each model's dataclass fields are its columns, by
name. Enum fields are stored as their values and read back as members; label and
annotation maps are copied, so a model never shares a dict with a row."""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

M = TypeVar("M")
_Read = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _copy(value: Any) -> Any:
    return dict(value)


def _reader(hint: Any) -> _Read:
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if typing.get_origin(hint) is dict:
        return _copy
    return _same


_READERS: dict[type[Any], tuple[tuple[str, _Read], ...]] = {}


def _readers(model: type[Any]) -> tuple[tuple[str, _Read], ...]:
    """Each field and how to read its column, worked out once per model."""
    readers = _READERS.get(model)
    if readers is None:
        hints = typing.get_type_hints(model)
        readers = tuple((f.name, _reader(hints[f.name])) for f in dataclasses.fields(model))
        _READERS[model] = readers
    return readers


def from_row(model: type[M], row: Any) -> M:
    """The model from a row holding a column for each of its fields (and maybe more)."""
    values: Mapping[str, Any] = row._mapping
    return model(**{name: read(values[name]) for name, read in _readers(model) if name in values})


def to_values(item: Any, *, without: Iterable[str] = ("id",)) -> dict[str, Any]:
    """The model's fields as column values; enums as their values."""
    skipped = set(without)
    return {
        f.name: _stored(getattr(item, f.name))
        for f in dataclasses.fields(item)
        if f.name not in skipped
    }


def _stored(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
