"""The connection a Repository runs its statements on: asynchronous, or inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.store.direct import DirectStatements
from receiver.store.held_writes import HeldGroup, hold

P = ParamSpec("P")
T = TypeVar("T")


class InlineConnection:
    """A synchronous connection behind the part of AsyncConnection's interface that
    Repository uses. Each statement runs at once on the calling thread: no greenlet and
    no hop to a driver thread. For SQLite's writer, whose statements never wait (the
    transaction already holds the write lock) and take microseconds. The statements
    marked `direct` skip SQLAlchemy's execution machinery (direct.py)."""

    def __init__(self, sync: sa.Connection, direct: DirectStatements | None = None) -> None:
        self.sync = sync
        self.direct = direct
        self.driver: Any = sync.connection.driver_connection if direct is not None else None

    async def execute(self, statement: sa.Executable, parameters: Any = None) -> Any:
        return self._execute(statement, parameters)

    async def scalar(self, statement: sa.Executable, parameters: Any = None) -> Any:
        return self._execute(statement, parameters).scalar()

    async def scalars(
        self, statement: sa.Executable, parameters: Any = None
    ) -> sa.ScalarResult[Any]:
        scalars: sa.ScalarResult[Any] = self._execute(statement, parameters).scalars()
        return scalars

    def _execute(self, statement: sa.Executable, parameters: Any) -> Any:
        if self.direct is not None:
            result = self.direct.execute(self.driver, statement, parameters)
            if result is not None:
                return result
        return self.sync.execute(statement, parameters)

    async def run_sync(
        self, fn: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return fn(self.sync, *args, **kwargs)


class PostgresConnection:
    """A PostgreSQL write transaction's connection: the statements marked `direct` go
    straight to asyncpg (direct.py), the rest through SQLAlchemy. Once told to hold
    writes, those whose result nobody reads wait for the next read (held_writes.py)."""

    def __init__(self, conn: AsyncConnection, direct: DirectStatements) -> None:
        self.conn = conn
        self.direct = direct
        self.held: list[HeldGroup] | None = None  # None: every write runs at once

    def hold_writes(self) -> None:
        if self.held is None:
            self.held = []

    async def write(self, statement: sa.Executable, parameters: Any) -> None:
        key = None if self.held is None else self.direct.holdable(statement, parameters)
        if key is None:
            await self.execute(statement, parameters)
            return
        assert self.held is not None
        assert isinstance(statement, sa.Insert | sa.Update)
        rows = parameters if isinstance(parameters, list) else [parameters]
        hold(self.held, key, statement, rows)

    async def flush(self) -> None:
        """Run the held writes: one executemany per group, in the groups' order."""
        if not self.held:
            return
        groups, self.held = self.held, []
        for group in groups:
            rows = group.rows
            await self._run(group.statement, rows if len(rows) > 1 else rows[0])

    async def execute(self, statement: sa.Executable, parameters: Any = None) -> Any:
        if self.held:  # a read sees every write before it
            await self.flush()
        return await self._run(statement, parameters)

    async def _run(self, statement: sa.Executable, parameters: Any) -> Any:
        result = await self.direct.execute_postgres(self.conn, statement, parameters)
        return result if result is not None else await self.conn.execute(statement, parameters)

    async def scalar(self, statement: sa.Executable, parameters: Any = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()

    async def scalars(
        self, statement: sa.Executable, parameters: Any = None
    ) -> sa.ScalarResult[Any]:
        scalars: sa.ScalarResult[Any] = (await self.execute(statement, parameters)).scalars()
        return scalars

    async def run_sync(
        self, fn: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        await self.flush()
        return await self.conn.run_sync(fn, *args, **kwargs)


Connection = AsyncConnection | InlineConnection | PostgresConnection


async def write(conn: Connection, statement: sa.Executable, parameters: Any) -> None:
    """A write whose result nobody reads: held back when the connection holds writes."""
    if isinstance(conn, PostgresConnection):
        await conn.write(statement, parameters)
    else:
        await conn.execute(statement, parameters)
