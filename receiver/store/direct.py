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
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
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
    """A SQLAlchemy Result over rows already fetched, with the cursor's row count."""

    rowcount: int


@dataclass(frozen=True, slots=True)
class _Form:
    """One statement compiled for one dialect: its SQL, how to order and convert its
    parameters, and how to convert its rows."""

    sql: str
    positions: tuple[tuple[str, Processor], ...]
    literals: dict[str, Any]  # the values the statement itself holds (a LIMIT, a status)
    expanding: frozenset[str]  # IN lists, whose length the SQL takes at each execution
    compiled: SQLCompiler  # expands them
    metadata: SimpleResultMetaData | None
    # the expanded SQL and where each of its values comes from, per length of the IN
    # lists: SQLAlchemy's expansion runs once per length, not once per execution
    expansions: dict[tuple[int, ...], _Expansion | None] = field(default_factory=dict)

    def ordered(self, parameters: Mapping[str, Any] | None) -> list[Any]:
        values = parameters or self.literals
        literals = self.literals
        ordered: list[Any] = []
        for name, process in self.positions:
            value = values[name] if name in values else literals[name]
            ordered.append(value if process is None else process(value))
        return ordered

    def bound(self, parameters: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        """The SQL and its values for one execution, IN lists expanded (by SQLAlchemy's
        own expansion, which numbers PostgreSQL's parameters again)."""
        if not self.expanding:
            return self.sql, self.ordered(parameters)
        given = parameters or self.literals
        lists = {name: list(self._value(given, name)) for name in self.expanding}
        lengths = tuple(len(lists[name]) for name in sorted(lists))
        try:
            expansion = self.expansions[lengths]
        except KeyError:
            expansion = self.expansions[lengths] = self._expansion(given, lists)
        if expansion is not None:
            return expansion.sql, expansion.values(given, lists, self.literals)
        compiled = self.compiled
        state = compiled._process_parameters_for_postcompile(
            compiled.construct_params(parameters, _check=False)
        )
        assert state.positiontup is not None
        processors: dict[str, Processor] = {**dict(self.positions), **state.processors}
        values = [
            value if (process := processors.get(name)) is None else process(value)
            for name in state.positiontup
            for value in (state.parameters[name],)
        ]
        return state.statement, values

    def _value(self, values: Mapping[str, Any], name: str) -> Any:
        return values[name] if name in values else self.literals[name]

    def _expansion(
        self, values: Mapping[str, Any], lists: dict[str, list[Any]]
    ) -> _Expansion | None:
        """SQLAlchemy's expansion of the IN lists, run once with a marker in each place,
        read back as where each value comes from; None when it did anything else with
        them (rendered one into the SQL), and the execution takes the expansion itself."""
        compiled = self.compiled
        probe = {**values, **{n: [_Place(n, i) for i in range(len(v))] for n, v in lists.items()}}
        state = compiled._process_parameters_for_postcompile(
            compiled.construct_params(probe, _check=False)
        )
        if state.positiontup is None or _Place.__name__ in state.statement:
            return None
        processors: dict[str, Processor] = {**dict(self.positions), **state.processors}
        steps: list[tuple[str, int | None, Processor]] = []
        for name in state.positiontup:
            value = state.parameters[name]
            if isinstance(value, _Place):
                steps.append((value.name, value.index, processors.get(name)))
            elif name in self.literals or name in values:
                steps.append((name, None, processors.get(name)))
            else:
                return None
        return _Expansion(state.statement, tuple(steps))

    def lists_filled(self, parameters: Mapping[str, Any] | None) -> bool:
        """Every IN list has a value (SQLAlchemy renders an empty one its own way)."""
        return all(
            parameters[name] if parameters and name in parameters else self.literals[name]
            for name in self.expanding
        )


@dataclass(frozen=True, slots=True)
class _Place:
    """A marker standing for one IN-list value while SQLAlchemy expands the list."""

    name: str
    index: int


@dataclass(frozen=True, slots=True)
class _Expansion:
    """A statement's SQL for IN lists of given lengths, and for each of its values the
    parameter (and the list position) it comes from, with its bind processor."""

    sql: str
    steps: tuple[tuple[str, int | None, Processor], ...]

    def values(
        self, values: Mapping[str, Any], lists: dict[str, list[Any]], literals: Mapping[str, Any]
    ) -> list[Any]:
        out: list[Any] = []
        for name, index, process in self.steps:
            if index is not None:
                value = lists[name][index]
            else:
                value = values[name] if name in values else literals[name]
            out.append(value if process is None else process(value))
        return out


class DirectStatements:
    """The compiled forms of the marked statements for one dialect, built on first use."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.forms: dict[tuple[int, tuple[str, ...]], _Form | None] = {}

    def execute(
        self, driver: sqlite3.Connection, statement: sa.Executable, parameters: Any
    ) -> DirectResult | None:
        """The statement's result, or None when it must go through SQLAlchemy."""
        many = _many(parameters)
        form = self._runnable(statement, parameters, many)
        if form is None:
            return None
        first = parameters[0] if many else parameters
        try:
            if many:
                cursor = driver.executemany(form.sql, [form.ordered(p) for p in parameters])
            else:
                cursor = driver.execute(*form.bound(first))
            rows = cursor.fetchall() if form.metadata is not None else []
        except sqlite3.Error as exc:  # as SQLAlchemy raises it
            raise DBAPIError.instance(form.sql, parameters, exc, sqlite3.Error) from exc
        return _result(form, rows, cursor.rowcount)

    async def execute_postgres(
        self, conn: AsyncConnection, statement: sa.Executable, parameters: Any
    ) -> DirectResult | None:
        """The same on asyncpg, once SQLAlchemy has begun the transaction (its adapter
        begins it lazily, at the first statement it runs itself)."""
        many = _many(parameters)
        form = self._runnable(statement, parameters, many)
        if form is None:
            return None
        raw = await conn.get_raw_connection()
        adapter: Any = raw.dbapi_connection
        if getattr(adapter, "_transaction", None) is None:
            return None
        driver: Any = raw.driver_connection  # asyncpg's Connection
        rowcount = -1
        try:
            if many:
                await driver.executemany(form.sql, [form.ordered(p) for p in parameters])
                rows: list[Any] = []
            elif form.metadata is not None:
                sql, values = form.bound(parameters)
                rows = [tuple(record) for record in await driver.fetch(sql, *values)]
                rowcount = len(rows)
            else:
                sql, values = form.bound(parameters)
                rows, rowcount = [], _status_count(await driver.execute(sql, *values))
        except Exception as exc:  # asyncpg's own errors, as SQLAlchemy raises them
            raise _postgres_error(adapter, form.sql, parameters, exc) from exc
        return _result(form, rows, rowcount)

    def holdable(self, statement: sa.Executable, parameters: Any) -> Hashable | None:
        """The key of the statement's compiled form when its write may be held back
        (held_writes.py): a marked INSERT or UPDATE without IN lists. Whatever it returns
        is dropped (PostgreSQL's dialect has an INSERT return the new row's id)."""
        if not isinstance(statement, sa.Insert | sa.Update):
            return None
        form = self._runnable(statement, parameters, _many(parameters))
        if form is None or form.expanding:
            return None
        return form.sql

    def _runnable(self, statement: sa.Executable, parameters: Any, many: bool) -> _Form | None:
        if id(statement) not in _MARKED or (many and not parameters):
            return None
        first: Mapping[str, Any] | None = parameters[0] if many else parameters
        form = self._form(statement, first)
        if form is None or (form.expanding and (many or not form.lists_filled(first))):
            return None
        return form

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


def _many(parameters: Any) -> bool:
    return isinstance(parameters, Sequence) and not isinstance(parameters, Mapping)


def _result(form: _Form, rows: list[Any], rowcount: int) -> DirectResult:
    result = DirectResult(form.metadata or _NO_COLUMNS, iter(rows))
    result.rowcount = rowcount
    return result


def _status_count(status: str) -> int:
    """The row count in a command tag: "UPDATE 3", "INSERT 0 1"."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


def _postgres_error(adapter: Any, sql: str, parameters: Any, exc: Exception) -> Exception:
    try:
        adapter._handle_exception(exc)  # raises asyncpg's error as the DBAPI's
    except Exception as dbapi_error:
        return DBAPIError.instance(sql, parameters, dbapi_error, adapter.dbapi.Error)
    return exc


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
    row_processors: list[Any] = [c.type._cached_result_processor(dialect, None) for c in columns]
    # the Result applies them as it makes each row (in SQLAlchemy's compiled code)
    metadata = (
        SimpleResultMetaData([c.keyname for c in columns], _processors=row_processors)
        if columns
        else None
    )
    return _Form(compiled.string, positions, literals, expanding, compiled, metadata)
