"""Marking written draft files as exported, many drafts per transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from receiver.store import Database, Repository, StoredDraft

log = structlog.get_logger(__name__)


class ExportMarks:
    """Draft files written, to be marked so in the database. Marked together: the drafts
    written while one transaction marks some share the next one, so under load one write
    marks many drafts instead of each draft costing a transaction of its own. `mark`
    returns once its draft's mark is committed, or raises the store's error."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.waiting: list[tuple[StoredDraft, asyncio.Future[None]]] = []
        self.task: asyncio.Task[None] | None = None

    async def mark(self, draft: StoredDraft) -> None:
        await self._queue(draft)

    def mark_soon(self, draft: StoredDraft) -> None:
        """Mark without waiting: a mark lost (a crash, the store down) only means the
        periodic pass writes the same file again."""
        self._queue(draft).add_done_callback(_log_mark_failure)

    async def drain(self) -> None:
        """Let the marks under way commit (before the store closes)."""
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)

    def _queue(self, draft: StoredDraft) -> asyncio.Future[None]:
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((draft, committed))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._flush(), name="mark-drafts-exported")
        return committed

    async def _flush(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting, []
            try:
                await self.db.run_write(_marking([draft for draft, _ in batch]))
            except Exception as exc:
                for _, committed in batch:
                    if not committed.done():
                        committed.set_exception(exc)
            else:
                for _, committed in batch:
                    if not committed.done():
                        committed.set_result(None)


def _log_mark_failure(committed: asyncio.Future[None]) -> None:
    if not committed.cancelled() and committed.exception() is not None:
        log.warning("draft.export_mark_failed", error=str(committed.exception()))


def _marking(written: list[StoredDraft]) -> Callable[[Repository], Awaitable[None]]:
    async def job(repo: Repository) -> None:
        await repo.mark_exported(written)

    return job
