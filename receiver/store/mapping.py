"""Rows ↔ models from one declaration: each model's dataclass fields are its columns, by
name. Enum fields are stored as their values and read back as members; label and
annotation maps are copied, so a model never shares a dict with a row."""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Callable, Iterable
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


# per model and row shape: each field's position in the row and how to read it
_PLANS: dict[tuple[type[Any], tuple[str, ...]], tuple[tuple[str, int, _Read], ...]] = {}


def from_row(model: type[M], row: Any) -> M:
    """The model from a row holding a column for each of its fields (and maybe more)."""
    columns: tuple[str, ...] = tuple(row._fields)
    plan = _PLANS.get((model, columns))
    if plan is None:  # once per statement's shape: the reads below go by position
        position = {name: index for index, name in enumerate(columns)}
        plan = tuple(
            (name, position[name], read) for name, read in _readers(model) if name in position
        )
        _PLANS[(model, columns)] = plan
    return model(**{name: read(row[index]) for name, index, read in plan})


# per model and skipped fields: the names of the fields that are columns
_COLUMNS: dict[tuple[type[Any], tuple[str, ...]], tuple[str, ...]] = {}


def to_values(item: Any, *, without: Iterable[str] = ("id",)) -> dict[str, Any]:
    """The model's fields as column values; enums as their values."""
    key = (type(item), tuple(without))
    names = _COLUMNS.get(key)
    if names is None:
        names = _COLUMNS[key] = tuple(
            f.name for f in dataclasses.fields(item) if f.name not in key[1]
        )
    return {name: _stored(getattr(item, name)) for name in names}


def _stored(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
