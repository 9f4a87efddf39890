"""The connection a Repository runs its statements on: asynchronous, or inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.store.direct import DirectStatements

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
    straight to asyncpg (direct.py), the rest through SQLAlchemy."""

    def __init__(self, conn: AsyncConnection, direct: DirectStatements) -> None:
        self.conn = conn
        self.direct = direct

    async def execute(self, statement: sa.Executable, parameters: Any = None) -> Any:
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
        return await self.conn.run_sync(fn, *args, **kwargs)


Connection = AsyncConnection | InlineConnection | PostgresConnection
