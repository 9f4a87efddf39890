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
from receiver.store.direct import DirectStatements
from receiver.store.repository import Repository

log = structlog.get_logger(__name__)

Job = Callable[[Repository], Awaitable[Any]]
Translate = Callable[[BaseException], BaseException]
T = TypeVar("T")

# enough to amortise an fsync, small enough that one batch never holds the lock long
MAX_BATCH = 64


@dataclass(slots=True)
class _Pending:
    job: Job | None
    # or one INSERT for the sqlite3 driver, whose row id is the result (the inbox's
    # appends: see inbox_append.py)
    insert: tuple[str, tuple[Any, ...]] | None = None
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
        self.busy_timeout_ms: int | None = None  # the writer's, read from its first connection
        self.direct = DirectStatements(engine.dialect)  # the hot statements, compiled once

    async def run(self, job: Job) -> Any:
        pending = _Pending(job)
        self.queue.put_nowait(pending)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain(), name="sqlite-group-commit")
        return await pending.future

    async def insert(self, sql: str, parameters: tuple[Any, ...]) -> int:
        """Run one INSERT in the next shared transaction; its row id once committed. No
        savepoint: a single statement is atomic, and its failure fails the batch."""
        pending = _Pending(None, (sql, parameters))
        self.queue.put_nowait(pending)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain(), name="sqlite-group-commit")
        result: int = await pending.future
        return result

    async def execute(self, sql: str, parameters: tuple[Any, ...]) -> None:
        """Run one statement (a DELETE, say) as insert() does, in the next shared
        transaction; returns once committed."""
        await self.insert(sql, parameters)

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
        if all(pending.insert is not None for pending in batch):
            await self._commit_inserts(batch)
            return
        outcomes: list[tuple[bool, Any]] = []
        try:
            async with self.lock:
                conn = await self._begun()
                try:
                    repo = Repository(InlineConnection(conn, self.direct))
                    for pending in batch:
                        if pending.insert is not None:
                            outcomes.append((True, _insert(conn, *pending.insert)))
                            continue
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

    async def _commit_inserts(self, batch: list[_Pending]) -> None:
        """A batch of the inbox's appends alone (the accept path under load): straight on
        the driver's connection, without SQLAlchemy's per-transaction work."""
        try:
            async with self.lock:
                raw = self.engine.raw_connection()  # from the pool, reset when returned
                try:
                    driver = raw.driver_connection
                    assert isinstance(driver, sqlite3.Connection)
                    await self._begin_immediate(driver)
                    try:
                        ids = [
                            driver.execute(*pending.insert).lastrowid
                            for pending in batch
                            if pending.insert is not None
                        ]
                        await _in_thread(lambda: driver.execute("COMMIT"))
                    except BaseException:
                        with contextlib.suppress(sqlite3.Error):
                            driver.execute("ROLLBACK")
                        raise
                finally:
                    raw.close()
        except sqlite3.Error as exc:
            failure = DBAPIError.instance("INSERT INTO inbox", None, exc, sqlite3.Error)
            self._fail(batch, self.translate(failure))
            return
        except (OSError, TimeoutError, PoolTimeoutError) as exc:
            self._fail(batch, self.translate(exc))
            return
        for pending, row_id in zip(batch, ids, strict=True):
            if not pending.future.done():
                pending.future.set_result(row_id)

    async def _begin_immediate(self, driver: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE inline when the write lock is free, as it nearly always is
        (this process's writers queue on self.lock); only when another process holds it
        does BEGIN wait, up to busy_timeout, in a thread, so the loop never waits."""
        if self.busy_timeout_ms is None:
            self.busy_timeout_ms = int(driver.execute("PRAGMA busy_timeout").fetchone()[0])
        driver.execute("PRAGMA busy_timeout=0")
        try:
            driver.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
        finally:
            driver.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
        await _in_thread(lambda: driver.execute("BEGIN IMMEDIATE"))

    async def _begun(self) -> sa.Connection:
        """A connection in a BEGIN IMMEDIATE transaction, begun as the appends' are (see
        _begin_immediate); SQLAlchemy's begin then finds it under way (engine.py)."""
        conn = self.engine.connect().execution_options(immediate=True)
        try:
            await self._begin_immediate(_driver(conn))
            conn.begin()
        except sqlite3.Error as exc:  # as SQLAlchemy would raise it: the batch fails
            conn.close()
            raise DBAPIError.instance("BEGIN IMMEDIATE", None, exc, sqlite3.Error) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    async def _run_job(
        self, conn: sa.Connection, repo: Repository, pending: _Pending, savepoint: bool
    ) -> tuple[bool, Any]:
        """The job's result or its own error; a failure of the connection propagates."""
        assert pending.job is not None
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


def _is_busy(exc: BaseException | None) -> bool:
    """SQLITE_BUSY: another connection holds the write lock."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


def _driver(conn: sa.Connection) -> sqlite3.Connection:
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver


def _insert(conn: sa.Connection, sql: str, parameters: tuple[Any, ...]) -> int:
    """Straight to the sqlite3 connection, inside SQLAlchemy's transaction; an error as
    SQLAlchemy would raise it, which fails the batch."""
    try:
        row_id = _driver(conn).execute(sql, parameters).lastrowid
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, parameters, exc, sqlite3.Error) from exc
    assert row_id is not None
    return row_id


@contextlib.contextmanager
def _savepoint(conn: sa.Connection) -> Iterator[None]:
    """A SAVEPOINT around one job, sent straight to the sqlite3 connection. SQLAlchemy's
    begin_nested builds and dispatches each SAVEPOINT and RELEASE like a statement of
    its own, which cost as much as a webhook's largest statement; the outer transaction
    is SQLAlchemy's, and only it commits. (The driver runs in autocommit mode: only
    statements sent explicitly begin or end anything, see engine.py.)"""
    driver = _driver(conn)

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
