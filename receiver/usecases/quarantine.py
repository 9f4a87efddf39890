"""Quarantined inbox entries: what people do with an entry the applier gave up on."""

from __future__ import annotations

from datetime import datetime

from receiver.store import Repository
from receiver.usecases.unit_of_work import UnitOfWork


class Quarantine:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def retry(self, entry_id: int) -> bool:
        """Put a quarantined entry back in line (after a fix): the applier applies it next,
        whichever replica applies. False when it is not quarantined."""

        async def job(repo: Repository, _now: datetime) -> bool:
            return await repo.inbox.release(entry_id)

        return await self.uow.write("inbox.retry", job)

    async def drop(self, entry_id: int) -> bool:
        """Delete a quarantined entry for good. False when it is not quarantined."""

        async def job(repo: Repository, _now: datetime) -> bool:
            return await repo.inbox.drop(entry_id)

        dropped = await self.uow.write("inbox.drop", job)
        if dropped:
            # on SQLite the spool may still hold its copy (moved, not yet forgotten): were
            # it the table's largest id, the next move would take that copy back in. Every
            # spooled row up to it was moved (moves go in id order), so all may go.
            await self.uow.db.forget_spooled(entry_id)
        return dropped
