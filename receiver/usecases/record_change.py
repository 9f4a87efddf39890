"""Recording a change to a service (a deploy, config change, rollback or scaling), as a
change feed or a person told us: stored once per its source's own id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from receiver.domain.changes import ServiceChange
from receiver.store import Repository
from receiver.usecases.change_drafts import ChangeDrafts
from receiver.usecases.recording import Stored
from receiver.usecases.unit_of_work import UnitOfWork

# the stored change, and whether it was new (False: a replay of one stored already)
Recorded = tuple[ServiceChange, bool]
ChangeStep = Callable[[Repository, datetime], Awaitable[Recorded]]


class RecordChange:
    def __init__(self, uow: UnitOfWork, drafts: ChangeDrafts | None = None) -> None:
        self.uow = uow
        # re-renders the drafts a new change concerns (None: only store it)
        self.drafts = drafts

    async def __call__(self, change: ServiceChange, *, inbox_id: int | None = None) -> Recorded:
        """Store the change in its own transaction, with the new draft revisions it causes;
        then write those drafts' files."""
        written: list[Stored] = []
        recorded = await self.uow.write(
            "change", self.step(change, inbox_id=inbox_id, written=written)
        )
        if self.drafts is not None:
            await self.drafts.finish(written)
        return recorded

    def step(
        self,
        change: ServiceChange,
        *,
        inbox_id: int | None = None,
        written: list[Stored] | None = None,
    ) -> ChangeStep:
        """The change's part of a transaction (the inbox applier runs it in its batch),
        received at the transaction's time. A new change also re-renders the drafts it
        concerns, into `written` when given (their files are written after the commit;
        else by the periodic export pass)."""

        async def step(repo: Repository, now: datetime) -> Recorded:
            stored, created = await repo.changes.add(change, received_at=now, inbox_id=inbox_id)
            if created and self.drafts is not None:
                redrafted = await self.drafts.redraft(repo, stored, now)
                if written is not None:
                    written.extend(redrafted)
            return stored, created

        return step
