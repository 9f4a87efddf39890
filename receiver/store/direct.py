"""The hot statements, run straight on the sqlite3 driver.

SQLAlchemy's Core spends 40–80 µs per execution building its execution context,
processing parameters and wrapping the cursor; the applier runs about ten statements per
webhook, so that machinery cost more than SQLite itself. A statement marked `direct` here
is compiled once per dialect (and per set of inserted or updated columns) from its Core
declaration — the schema stays the one source of truth — and run on the sqlite3
connection inside SQLAlchemy's own transaction, its parameters and its rows converted by
the columns' own bind and result processors. What comes back is a SQLAlchemy Result, so
the repository reads it as it reads any other; errors are raised as SQLAlchemy raises
them. A statement this module cannot run as it is (Python-side column defaults, an empty
IN list) goes through SQLAlchemy as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None
S = TypeVar("S", bound=sa.Executable)

# the statements marked `direct`: looked up by identity, so only these module-level,
# built-once statements ever take this path
_MARKED: set[int] = set()
_KEEP: list[sa.Executable] = []  # their ids stay theirs: the statements stay alive


def direct(statement: S) -> S:
    """Mark a statement built once (at import) as one the writer runs on the driver."""
    _MARKED.add(id(statement))
    _KEEP.append(statement)
    return statement


class DirectResult(IteratorResult[Any]):
    """A SQLAlchemy Result over rows already fetched, with the cursor's counts."""

    rowcount: int
    lastrowid: int | None

    @property
    def inserted_primary_key(self) -> tuple[int | None]:
        return (self.lastrowid,)


@dataclass(frozen=True, slots=True)
class _Form:
    """One statement compiled for one dialect: its SQL, how to order and convert its
    parameters, and how to convert its rows."""

    sql: str
    positions: tuple[tuple[str, Processor], ...]
    literals: dict[str, Any]  # the values the statement itself holds (a LIMIT, a status)
    expanding: frozenset[str]
    metadata: SimpleResultMetaData | None
    row_processors: tuple[Processor, ...]

    def ordered(self, parameters: Mapping[str, Any] | None) -> list[Any]:
        values = parameters or self.literals
        literals = self.literals
        ordered: list[Any] = []
        for name, process in self.positions:
            value = values[name] if name in values else literals[name]
            if name in self.expanding:
                ordered.extend(value if process is None else [process(v) for v in value])
            else:
                ordered.append(value if process is None else process(value))
        return ordered

    def value(self, parameters: Mapping[str, Any] | None, name: str) -> Any:
        return parameters[name] if parameters and name in parameters else self.literals[name]

    def sql_for(self, parameters: Mapping[str, Any] | None) -> str:
        sql = self.sql
        for name in self.expanding:
            marks = ", ".join("?" for _ in self.value(parameters, name))
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", marks)
        return sql

    def lists_filled(self, parameters: Mapping[str, Any] | None) -> bool:
        """Every IN list has a value (SQLAlchemy renders an empty one its own way)."""
        return all(self.value(parameters, name) for name in self.expanding)


class DirectStatements:
    """The compiled forms of the marked statements for one dialect, built on first use."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.forms: dict[tuple[int, tuple[str, ...]], _Form | None] = {}

    def execute(
        self, driver: sqlite3.Connection, statement: sa.Executable, parameters: Any
    ) -> DirectResult | None:
        """The statement's result, or None when it must go through SQLAlchemy."""
        if id(statement) not in _MARKED:
            return None
        many = isinstance(parameters, Sequence) and not isinstance(parameters, Mapping)
        if many and not parameters:
            return None
        first: Mapping[str, Any] | None = parameters[0] if many else parameters
        form = self._form(statement, first)
        if form is None or (form.expanding and (many or not form.lists_filled(first))):
            return None
        try:
            if many:
                cursor = driver.executemany(form.sql, [form.ordered(p) for p in parameters])
            else:
                cursor = driver.execute(form.sql_for(first), form.ordered(first))
            rows = cursor.fetchall() if form.metadata is not None else []
        except sqlite3.Error as exc:  # as SQLAlchemy raises it
            raise DBAPIError.instance(form.sql, parameters, exc, sqlite3.Error) from exc
        if rows and any(form.row_processors):
            rows = [_converted(row, form.row_processors) for row in rows]
        result = DirectResult(form.metadata or _NO_COLUMNS, iter(rows))
        result.rowcount = cursor.rowcount
        result.lastrowid = cursor.lastrowid
        return result

    def _form(self, statement: sa.Executable, parameters: Mapping[str, Any] | None) -> _Form | None:
        # an INSERT or UPDATE compiles to the columns it is given
        dml = isinstance(statement, sa.Insert | sa.Update)
        keys = tuple(sorted(parameters)) if dml and parameters else ()
        key = (id(statement), keys)
        try:
            return self.forms[key]
        except KeyError:
            form = self.forms[key] = _compile(statement, self.dialect, keys if dml else None)
            return form


_NO_COLUMNS = SimpleResultMetaData([])


def _converted(row: tuple[Any, ...], processors: tuple[Processor, ...]) -> tuple[Any, ...]:
    return tuple(
        value if process is None or value is None else process(value)
        for process, value in zip(processors, row, strict=True)
    )


def _compile(
    statement: sa.Executable, dialect: Dialect, column_keys: Sequence[str] | None
) -> _Form | None:
    assert isinstance(statement, sa.ClauseElement)
    compiled = statement.compile(dialect=dialect, column_keys=column_keys)
    assert isinstance(compiled, SQLCompiler)
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.positiontup is None:
        return None  # Python-side defaults: SQLAlchemy computes them
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    if any(bind.callable is not None for bind in by_name.values()):
        return None  # a value computed at execution: SQLAlchemy computes it
    literals = {name: bind.value for name, bind in by_name.items() if not bind.required}
    processors: dict[str, Processor] = {}
    for name, process in compiled._bind_processors.items():
        if not callable(process):
            return None  # a tuple's processors, per element: left to SQLAlchemy
        processors[name] = process
    positions = tuple((name, processors.get(name)) for name in compiled.positiontup)
    expanding = frozenset(name for name in compiled.positiontup if by_name[name].expanding)
    columns = compiled._result_columns
    metadata = SimpleResultMetaData([c.keyname for c in columns]) if columns else None
    row_processors = tuple(c.type._cached_result_processor(dialect, None) for c in columns)
    return _Form(compiled.string, positions, literals, expanding, metadata, row_processors)
