"""Group commit for SQLite: concurrent writes share one transaction and one fsync.

SQLite has one writer at a time and `synchronous=FULL` makes every commit an fsync, so
committing webhooks one by one caps throughput at the disk's fsync rate. Here writes
queue up; one task runs every queued job in a single transaction, each job inside its
own SAVEPOINT (a failing job rolls back alone), commits once, and only then answers
every caller — so a 2xx still means "durably stored".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from receiver.store.repository import Repository

log = structlog.get_logger(__name__)

Job = Callable[[Repository], Awaitable[Any]]
Translate = Callable[[BaseException], BaseException]

# enough to amortise an fsync, small enough that one batch never holds the lock long
MAX_BATCH = 64


@dataclass(slots=True)
class _Pending:
    job: Job
    future: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommitter:
    def __init__(self, engine: AsyncEngine, lock: asyncio.Lock, translate: Translate) -> None:
        self.engine = engine
        self.lock = lock  # the same lock Database.write() takes: one writer in-process
        self.translate = translate
        self.queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def run(self, job: Job) -> Any:
        pending = _Pending(job)
        self.queue.put_nowait(pending)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain(), name="sqlite-group-commit")
        return await pending.future

    async def _drain(self) -> None:
        while not self.queue.empty():
            batch = [self.queue.get_nowait()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._commit(batch)
            except asyncio.CancelledError:
                for pending in batch:
                    if not pending.future.done():
                        pending.future.cancel()
                raise

    async def _commit(self, batch: list[_Pending]) -> None:
        if len(batch) == 1:
            await self._commit_alone(batch[0])
            return
        outcomes: list[tuple[bool, Any]] = []
        try:
            async with self.lock, self.engine.connect() as conn:
                conn = await conn.execution_options(immediate=True)
                async with conn.begin():
                    repo = Repository(conn)
                    for pending in batch:
                        try:
                            # a savepoint: a failing job rolls back alone
                            async with conn.begin_nested():
                                outcomes.append((True, await pending.job(repo)))
                        except IntegrityError as exc:
                            outcomes.append((False, self.translate(exc)))
                        except (DBAPIError, OSError):
                            raise  # the connection itself failed: the whole batch fails
                        except Exception as exc:  # the job's own error goes to its caller
                            outcomes.append((False, exc))
        except (DBAPIError, OSError, TimeoutError) as exc:
            self._fail(batch, self.translate(exc))
            return
        # committed: only now may the callers answer
        for pending, (ok, value) in zip(batch, outcomes, strict=True):
            if pending.future.done():
                continue
            if ok:
                pending.future.set_result(value)
            else:
                pending.future.set_exception(value)

    async def _commit_alone(self, pending: _Pending) -> None:
        """One job, one plain transaction: an error rolls all of it back."""
        try:
            async with self.lock, self.engine.connect() as conn:
                conn = await conn.execution_options(immediate=True)
                async with conn.begin():
                    result = await pending.job(Repository(conn))
        except (DBAPIError, OSError, TimeoutError) as exc:
            self._fail([pending], self.translate(exc))
        except Exception as exc:  # the job's own error goes to its caller
            if not pending.future.done():
                pending.future.set_exception(exc)
        else:
            if not pending.future.done():
                pending.future.set_result(result)

    def _fail(self, batch: list[_Pending], failure: BaseException) -> None:
        log.warning("store.batch_failed", jobs=len(batch), error=str(failure))
        for pending in batch:
            if not pending.future.done():
                pending.future.set_exception(failure)

    async def close(self) -> None:
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
