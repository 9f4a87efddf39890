"""Opening the database: URL mapping, SQLite pragmas, transactions and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from receiver.config import DATABASE_POOL_TIMEOUT, DATABASE_STATEMENT_TIMEOUT, Settings
from receiver.store.connection import PostgresConnection
from receiver.store.direct import DirectStatements
from receiver.store.group_commit import GroupCommitter
from receiver.store.inbox import LARGEST_ID as LARGEST_INBOX_ID
from receiver.store.inbox import Backlog, spooled_entry
from receiver.store.inbox_append import PostgresInboxAppender, SqliteInboxInsert, inbox_row
from receiver.store.records import InboxEntry, InboxRecord
from receiver.store.repository import Repository
from receiver.store.spool import InboxSpool, spool_path
from receiver.store.statistics import PlannerStatistics

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# a pooled PostgreSQL connection idle this long is pinged before it is used again
_PING_IDLE_AFTER_S = 1.0
_MIGRATION_LOCK = 0x706D72  # "pmr": one schema migration at a time per database


# unique_violation, serialization_failure, deadlock_detected: another writer won a race
_CONFLICT_SQLSTATES = frozenset({"23505", "40001", "40P01"})
_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# what a request may meet on the way to the database: the driver's errors, a lost socket,
# the pool's checkout timeout (SQLAlchemy's own TimeoutError, not the builtin one)
_STORE_ERRORS = (DBAPIError, OSError, TimeoutError, PoolTimeoutError)


class StoreUnavailable(Exception):
    """The database could not be reached or refused the write; the caller answers 503."""


class WriteConflict(Exception):
    """A concurrent writer (another task or replica) got there first: retry the transaction."""


class SchemaError(Exception):
    """The database schema does not match this version of the code."""

    def __init__(self, message: str, *, current: str | None = None, head: str = "") -> None:
        super().__init__(message)
        self.current = current  # the database's revision
        self.head = head  # the code's newest


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def is_current(self) -> bool:
        return self.current == self.head


def async_url(url: str) -> sa.URL:
    """Map the user's URL (sqlite:///…, postgresql://…) to the async driver's."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+aiosqlite"):
        return parsed.set(drivername="sqlite+aiosqlite")
    if parsed.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


class Database:
    """The engine plus the transaction discipline both backends share."""

    def __init__(
        self,
        engine: AsyncEngine,
        sqlite_writer: sa.Engine | None = None,
        spool: InboxSpool | None = None,
    ) -> None:
        """`sqlite_writer`: a synchronous engine on the same SQLite file for the group
        commit (see group_commit.py); reads, migrations and PostgreSQL use `engine`.
        `spool`: SQLite's inbox file, where the accept path appends (spool.py)."""
        self.engine = engine
        self._writer = sqlite_writer
        self._spool = spool
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer; queueing writers here beats spinning on busy_timeout.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._group = (
            GroupCommitter(sqlite_writer, self._write_lock, translate_error)
            if self._write_lock is not None and sqlite_writer is not None
            else None
        )
        self._sqlite_insert = (
            SqliteInboxInsert(sqlite_writer.dialect) if sqlite_writer is not None else None
        )
        self._pg_appender = (
            None if self.is_sqlite else PostgresInboxAppender(engine, translate_error)
        )
        # PostgreSQL's writes run the hot statements straight on asyncpg (direct.py)
        self._direct = None if self.is_sqlite else DirectStatements(engine.dialect)
        self._statistics = None if self.is_sqlite else PlannerStatistics(engine)

    async def append_inbox(
        self, kind: str, body: str, received_at: datetime, credential: str | None
    ) -> int:
        """Append one body to the inbox and return its id once committed: the accept
        path's only write, batched with whatever else is appended at the same moment."""
        row = inbox_row(kind, body, received_at, credential)
        if self._spool is not None:
            self._prepare_spool()
            return await self._spool.append(row)
        if self._group is not None and self._sqlite_insert is not None:
            return await self._group.insert(
                self._sqlite_insert.sql, self._sqlite_insert.parameters(row)
            )
        if self._pg_appender is not None:
            return await self._pg_appender.append(row)
        async with self.write() as repo:  # SQLite without its writer engine (tests)
            return await repo.inbox.append(kind, body, received_at, credential)

    def _prepare_spool(self, largest_id: int | None = None) -> InboxSpool:
        """The spool, ready (once per process): its ids above the inbox table's."""
        assert self._spool is not None
        assert self._writer is not None
        if not self._spool.ready:
            if largest_id is None:
                with self._writer.connect() as conn:
                    largest_id = int(conn.execute(LARGEST_INBOX_ID).scalar() or 0)
            self._spool.prepare(largest_id)
        return self._spool

    async def move_spooled(self, repo: Repository, limit: int) -> int | None:
        """In the applier's transaction: up to `limit` entries from the spool into the
        inbox table, in id order; the largest id moved (None: none). Once that commits,
        forget_spooled(it)."""
        if self._spool is None:
            return None
        largest = await repo.inbox.largest_id()
        rows = self._prepare_spool(largest).take(largest, limit)
        if not rows:
            return None
        await repo.inbox.move_in(rows)
        return int(rows[-1][0])

    async def added_rows(self, rows: int) -> None:
        """The applier added `rows` to incidents, episodes and timeline: on PostgreSQL,
        their planner statistics are brought up to date when due (statistics.py)."""
        if self._statistics is not None and rows:
            await self._statistics.added_rows(rows)

    async def forget_spooled(self, up_to_id: int) -> None:
        """The spool's rows up to `up_to_id`, moved by a committed transaction, deleted."""
        if self._spool is not None:
            await self._spool.forget(up_to_id)

    async def spooled_records(
        self, *, since: datetime | None, after_id: int, limit: int
    ) -> list[InboxRecord]:
        """On SQLite, entries past `after_id` that only the spool holds yet (accepted, not
        yet moved into the inbox table): a replay reads them after the table's."""
        if self._spool is None:
            return []
        async with self.read() as repo:
            largest = await repo.inbox.largest_id()
        # rows at or below the table's largest id were moved already (or dropped since)
        rows = self._spool.records(max(after_id, largest), since, limit)
        return [
            InboxRecord(row["id"], row["received_at"], row["kind"], row["body"], None)
            for row in rows
        ]

    async def inbox_backlog(self) -> Backlog:
        """What is accepted and not yet applied: the inbox table's pending entries and,
        on SQLite, what the spool holds past them."""
        async with self.read() as repo:
            backlog = await repo.inbox.backlog()
            largest = await repo.inbox.largest_id() if self._spool is not None else 0
        if self._spool is None:
            return backlog
        spooled = self._spool.spooled(largest)
        oldest = [at for at in (backlog.oldest, spooled.oldest) if at is not None]
        return Backlog(
            backlog.entries + spooled.entries,
            backlog.bytes + spooled.bytes,
            min(oldest) if oldest else None,
        )

    async def inbox_entry(self, entry_id: int) -> InboxEntry | None:
        """Where an entry stands; one still in the spool is pending. The spool first: it
        forgets an entry only once the inbox table holds it, so the table, read after,
        has every entry the spool did not."""
        if self._spool is not None:
            row = self._spool.row(entry_id)
            if row is not None:
                return spooled_entry(row)
        async with self.read() as repo:
            return await repo.inbox.entry(entry_id)

    async def run_write(self, job: Callable[[Repository], Awaitable[T]]) -> T:
        """Run `job` in a write transaction and return its result once committed.

        On SQLite concurrent jobs share a transaction (group commit); on PostgreSQL each
        has its own and the server orders them.
        """
        if self._group is not None:
            result: T = await self._group.run(job)
            return result
        async with self.write() as repo:
            return await job(repo)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[Repository]:
        """One write transaction; commits when the block ends without an exception."""
        lock = self._write_lock or contextlib.nullcontext()
        async with lock:
            try:
                async with self.engine.connect() as conn:
                    conn = await conn.execution_options(immediate=True)
                    async with conn.begin():
                        if self._direct is None:
                            yield Repository(conn)
                        else:
                            yield Repository(PostgresConnection(conn, self._direct))
            except _STORE_ERRORS as exc:
                raise translate_error(exc) from exc

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Repository]:
        try:
            async with self.engine.connect() as conn, conn.begin():
                yield Repository(conn)
        except _STORE_ERRORS as exc:
            raise StoreUnavailable(_first_line(exc) or type(exc).__name__) from exc

    async def ping(self) -> None:
        async with self.read() as repo:
            await repo.conn.execute(sa.text("SELECT 1"))

    async def schema_state(self) -> SchemaState:
        head = head_revision()
        async with self.read() as repo:
            current = await repo.conn.run_sync(
                lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
            )
        return SchemaState(current=current, head=head)

    async def migrate(self) -> SchemaState:
        """Bring the schema to the code's head; refuse a schema newer than the code."""
        state = await self.schema_state()
        if state.current is not None and not _known_revision(state.current):
            raise SchemaError(
                f"the database schema is at revision {state.current}, which this version "
                f"of postmortem-receiver does not know (its newest is {state.head}); "
                "upgrade the receiver or point it at another database",
                current=state.current,
                head=state.head,
            )
        if not state.is_current:
            await self.upgrade("head")
        return await self.schema_state()

    async def upgrade(self, revision: str) -> None:
        """Apply migrations up to `revision` in one transaction.

        On PostgreSQL replicas starting together queue on an advisory lock, and Alembic,
        reading the version inside the lock, finds the winner's work done.
        """
        async with self.write() as repo:
            if not self.is_sqlite:
                # a migration may rewrite a large table, and waiting for the replica that
                # migrates first is the point of the lock: no statement timeout here
                await repo.conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
                await repo.conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            await repo.conn.run_sync(_upgrade_to, revision)

    async def close(self) -> None:
        if self._group is not None:
            await self._group.close()
        if self._spool is not None:
            await self._spool.close()
        await self.engine.dispose()


def _upgrade_to(sync_conn: sa.Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_conn
    command.upgrade(config, revision)


def translate_error(exc: BaseException) -> BaseException:
    """A driver error as the receiver's: a lost race to retry, or an unavailable store."""
    if isinstance(exc, IntegrityError):
        return WriteConflict(_first_line(exc.orig))
    if isinstance(exc, DBAPIError) and _sqlstate(exc) in _CONFLICT_SQLSTATES:
        return WriteConflict(_first_line(exc.orig))
    return StoreUnavailable(_first_line(exc) or type(exc).__name__)


def _known_revision(revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config())
    try:
        return script.get_revision(revision) is not None
    except (ResolutionError, CommandError):
        return False


def _first_line(exc: object) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else ""


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code if isinstance(code, str) else None


def _switch_to_wal(cursor: Any, busy_timeout_ms: int) -> None:
    """PRAGMA journal_mode=WAL, waiting out another process that is creating the same new
    file: SQLite answers that one 'locked' at once, without its busy handler."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # the driver's OperationalError, adapted or not
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)  # only ever while a brand-new database file is set up


def _install_sqlite_hooks(engine: sa.Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # let SQLAlchemy, not the driver, decide where transactions begin
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # first, so that even switching to WAL waits for another process's lock; a write
        # that waits longer fails, and the request gets a 503 (like PostgreSQL's
        # statement_timeout)
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        _switch_to_wal(cursor, busy_timeout_ms)
        # FULL: a 2xx promises the webhook survives a power cut, not just a crash
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # IMMEDIATE takes the write lock up front, so two writers never deadlock
        # upgrading read locks
        if getattr(conn.connection.driver_connection, "in_transaction", False) is True:
            return  # the group commit began it itself, without waiting on the loop
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def head_revision() -> str:
    """The newest schema revision this version of the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def open_database(
    url: str,
    *,
    pool_size: int = 10,
    password: str | None = None,
    statement_timeout: timedelta = DATABASE_STATEMENT_TIMEOUT,
    pool_timeout: timedelta = DATABASE_POOL_TIMEOUT,
) -> Database:
    """`statement_timeout`: how long one statement may run or wait for a lock (on SQLite,
    for another process's write lock); `pool_timeout`: how long a request may wait for a
    connection. Past either the request fails with StoreUnavailable, a 503."""
    target = async_url(url)
    statement_ms = max(1, round(statement_timeout.total_seconds() * 1000))
    if target.drivername.startswith("sqlite"):
        pooled: dict[str, Any] = {}
        if target.database and target.database != ":memory:":
            Path(target.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            pooled["pool_timeout"] = pool_timeout.total_seconds()  # a file has a queue pool
        engine = create_async_engine(target, **pooled)
        _install_sqlite_hooks(engine.sync_engine, statement_ms)
        # the writer's connections are used by the loop and by worker threads in turn
        writer = sa.create_engine(
            target.set(drivername="sqlite+pysqlite"),
            connect_args={"check_same_thread": False},
            **pooled,
        )
        _install_sqlite_hooks(writer, statement_ms)
        if not target.database or target.database == ":memory:":
            return Database(engine, writer)
        spool_engine = sa.create_engine(
            sa.URL.create("sqlite+pysqlite", database=str(spool_path(target.database))),
            connect_args={"check_same_thread": False},
            **pooled,
        )
        _install_sqlite_hooks(spool_engine, statement_ms)
        return Database(engine, writer, InboxSpool(spool_engine, translate_error))
    if password is not None:
        target = target.set(password=password)
    target, connect_args = _postgres_tls(target)
    engine = create_async_engine(
        target,
        pool_size=pool_size,
        max_overflow=pool_size,
        # waiting for a free connection, and (asyncpg's `timeout`) for a new one to open
        pool_timeout=pool_timeout.total_seconds(),
        connect_args={
            **connect_args,
            "timeout": pool_timeout.total_seconds(),
            # set once per connection, so it costs no round trip per transaction; a
            # statement held up by a lock (LOCK TABLE, a long migration) is cancelled
            "server_settings": {"statement_timeout": str(statement_ms)},
        },
    )
    _install_postgres_liveness(engine.sync_engine)
    return Database(engine)


def _install_postgres_liveness(engine: sa.Engine) -> None:
    """A connection that died with the server is replaced, not used.

    pool_pre_ping did that with three round trips (BEGIN, ";", ROLLBACK) on every
    checkout, a quarter of a webhook's. A server that crashes or restarts closes every
    socket, which the driver notices by itself: such a connection is replaced with no
    round trip, once the event loop has seen its socket close (a request racing the
    crash itself may still get a 503, as during the outage). One idle for more than a
    second, which may have died silently (a dropped NAT entry, a partition), is still
    pinged; under load connections are reused within milliseconds.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise sa.exc.DisconnectionError("the server closed the connection")
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since > _PING_IDLE_AFTER_S:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as exc:
                raise sa.exc.DisconnectionError(str(exc)) from exc


def open_configured_database(settings: Settings) -> Database:
    return open_database(
        settings.database_url,
        pool_size=settings.database_pool_size,
        password=settings.database_secret(),
        statement_timeout=settings.database_statement_timeout,
        pool_timeout=settings.database_pool_timeout,
    )


def _postgres_tls(url: sa.URL) -> tuple[sa.URL, dict[str, Any]]:
    """libpq's sslmode/sslrootcert/sslcert/sslkey in the URL, as asyncpg's `ssl`."""
    query = dict(url.query)
    mode = query.pop("sslmode", None)
    rootcert = query.pop("sslrootcert", None)
    cert = query.pop("sslcert", None)
    key = query.pop("sslkey", None)
    url = url.set(query=query)
    if mode is None and rootcert is None and cert is None:
        return url, {}
    mode = str(mode or "prefer")
    if mode not in _SSL_MODES:
        raise ValueError(f"sslmode must be one of {', '.join(_SSL_MODES)}, got {mode!r}")
    if rootcert is None and cert is None:
        return url, {"ssl": mode}  # asyncpg takes libpq's mode names as they are
    context = ssl.create_default_context(cafile=str(rootcert) if rootcert else None)
    if mode != "verify-full":
        context.check_hostname = False  # verify-ca checks the chain, not the name
    if mode in ("allow", "prefer", "require") and rootcert is None:
        context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        context.load_cert_chain(str(cert), str(key) if key else None)
    return url, {"ssl": context}
