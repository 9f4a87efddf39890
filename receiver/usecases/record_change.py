"""Recording a change to a service (a deploy, config change, rollback or scaling), as a
change feed or a person told us: stored once per its source's own id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from receiver.domain.changes import ServiceChange
from receiver.store import Repository
from receiver.usecases.unit_of_work import UnitOfWork

# the stored change, and whether it was new (False: a replay of one stored already)
Recorded = tuple[ServiceChange, bool]
ChangeStep = Callable[[Repository, datetime], Awaitable[Recorded]]


class RecordChange:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def __call__(self, change: ServiceChange, *, inbox_id: int | None = None) -> Recorded:
        """Store the change in its own transaction."""
        return await self.uow.write("change", self.step(change, inbox_id=inbox_id))

    def step(self, change: ServiceChange, *, inbox_id: int | None = None) -> ChangeStep:
        """The change's part of a transaction (the inbox applier runs it in its batch),
        received at the transaction's time."""

        async def step(repo: Repository, now: datetime) -> Recorded:
            return await repo.changes.add(change, received_at=now, inbox_id=inbox_id)

        return step
