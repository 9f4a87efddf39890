"""Group commit for SQLite: concurrent writes share one transaction and one fsync.

SQLite has one writer at a time and `synchronous=FULL` makes every commit an fsync, so
committing webhooks one by one caps throughput at the disk's fsync rate. Here writes
queue up; one task runs every queued job in a single transaction, each job inside its
own SAVEPOINT (a failing job rolls back alone), commits once, and only then answers
every caller — so a 2xx still means "durably stored".

The writer uses a synchronous sqlite3 connection: its statements run inline on the
event loop (they never wait for a lock, since BEGIN IMMEDIATE already took it, and each
takes microseconds), while the two steps that may block — BEGIN IMMEDIATE, which can
wait for another process's lock, and COMMIT, which fsyncs — run in a worker thread.
Through aiosqlite every DBAPI call was a hop to its thread and back (about 90 per
webhook), which cost more than the SQL itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from receiver.store.connection import InlineConnection
from receiver.store.repository import Repository

log = structlog.get_logger(__name__)

Job = Callable[[Repository], Awaitable[Any]]
Translate = Callable[[BaseException], BaseException]
T = TypeVar("T")

# enough to amortise an fsync, small enough that one batch never holds the lock long
MAX_BATCH = 64


@dataclass(slots=True)
class _Pending:
    job: Job
    future: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommitter:
    def __init__(self, engine: sa.Engine, lock: asyncio.Lock, translate: Translate) -> None:
        self.engine = engine  # synchronous (pysqlite), connections usable from any thread
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
        """Run the batch in one transaction; answer each caller once it is committed.

        A lone job runs without a savepoint: its error rolls the transaction back."""
        outcomes: list[tuple[bool, Any]] = []
        try:
            async with self.lock:
                conn = self.engine.connect().execution_options(immediate=True)
                try:
                    await _in_thread(conn.begin)  # BEGIN IMMEDIATE may wait for the lock
                    repo = Repository(InlineConnection(conn))
                    for pending in batch:
                        outcomes.append(await self._run_job(conn, repo, pending, len(batch) > 1))
                        # a job's statements never yield: between two jobs, let the loop
                        # serve requests and probes, so a batch never stalls it for long
                        await asyncio.sleep(0)
                    if len(batch) == 1 and not outcomes[0][0]:
                        conn.rollback()
                    else:
                        await _in_thread(conn.commit)
                finally:
                    conn.close()
        except (DBAPIError, OSError, TimeoutError, PoolTimeoutError) as exc:
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

    async def _run_job(
        self, conn: sa.Connection, repo: Repository, pending: _Pending, savepoint: bool
    ) -> tuple[bool, Any]:
        """The job's result or its own error; a failure of the connection propagates."""
        try:
            if not savepoint:
                return True, await pending.job(repo)
            with _savepoint(conn):  # a failing job rolls back alone
                return True, await pending.job(repo)
        except IntegrityError as exc:
            return False, self.translate(exc)
        except (DBAPIError, OSError):
            raise  # the connection itself failed: the whole batch fails
        except Exception as exc:  # the job's own error goes to its caller
            return False, exc

    def _fail(self, batch: list[_Pending], failure: BaseException) -> None:
        log.warning("store.batch_failed", jobs=len(batch), error=str(failure))
        for pending in batch:
            if not pending.future.done():
                pending.future.set_exception(failure)

    async def close(self) -> None:
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.engine.dispose()


@contextlib.contextmanager
def _savepoint(conn: sa.Connection) -> Iterator[None]:
    """A SAVEPOINT around one job, sent straight to the sqlite3 connection. SQLAlchemy's
    begin_nested builds and dispatches each SAVEPOINT and RELEASE like a statement of
    its own, which cost as much as a webhook's largest statement; the outer transaction
    is SQLAlchemy's, and only it commits. (The driver runs in autocommit mode: only
    statements sent explicitly begin or end anything, see engine.py.)"""
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)

    def send(sql: str) -> None:
        try:
            driver.execute(sql)
        except sqlite3.Error as exc:  # as SQLAlchemy would raise it: the batch fails
            raise DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc

    send("SAVEPOINT job")
    try:
        yield
    except BaseException:
        send("ROLLBACK TO SAVEPOINT job")
        send("RELEASE SAVEPOINT job")
        raise
    send("RELEASE SAVEPOINT job")


async def _in_thread(fn: Callable[[], T]) -> T:
    """`fn` in a worker thread. Cancelled meanwhile, it still waits for `fn` to finish, so
    that the connection is never used by two threads at once."""
    work = asyncio.ensure_future(asyncio.to_thread(fn))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await work
        raise
