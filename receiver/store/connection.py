"""The connection a Repository runs its statements on: asynchronous, or inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

P = ParamSpec("P")
T = TypeVar("T")


class InlineConnection:
    """A synchronous connection behind the part of AsyncConnection's interface that
    Repository uses. Each statement runs at once on the calling thread: no greenlet and
    no hop to a driver thread. For SQLite's writer, whose statements never wait (the
    transaction already holds the write lock) and take microseconds."""

    def __init__(self, sync: sa.Connection) -> None:
        self.sync = sync

    async def execute(
        self, statement: sa.Executable, parameters: Any = None
    ) -> sa.CursorResult[Any]:
        return self.sync.execute(statement, parameters)

    async def scalar(self, statement: sa.Executable, parameters: Any = None) -> Any:
        return self.sync.scalar(statement, parameters)

    async def scalars(
        self, statement: sa.Executable, parameters: Any = None
    ) -> sa.ScalarResult[Any]:
        return self.sync.scalars(statement, parameters)

    async def run_sync(
        self, fn: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return fn(self.sync, *args, **kwargs)


Connection = AsyncConnection | InlineConnection
