"""Opening the database: URL mapping, SQLite pragmas, transactions and migrations."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from receiver.store.repository import Repository

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_SQLITE_BUSY_TIMEOUT_MS = 10_000


class StoreUnavailable(Exception):
    """The database could not be reached or refused the write; the caller answers 503."""


class SchemaError(Exception):
    """The database schema does not match this version of the code."""


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


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


class Database:
    """The engine plus the transaction discipline both backends share."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer; queueing writers here beats spinning on busy_timeout.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[Repository]:
        """One write transaction; commits when the block ends without an exception."""
        lock = self._write_lock or contextlib.nullcontext()
        async with lock:
            try:
                async with self.engine.connect() as conn:
                    conn = await conn.execution_options(immediate=True)
                    async with conn.begin():
                        yield Repository(conn)
            except IntegrityError:
                raise
            except (DBAPIError, OSError) as exc:
                raise StoreUnavailable(str(exc).splitlines()[0]) from exc

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Repository]:
        try:
            async with self.engine.connect() as conn, conn.begin():
                yield Repository(conn)
        except (DBAPIError, OSError) as exc:
            raise StoreUnavailable(str(exc).splitlines()[0]) from exc

    async def ping(self) -> None:
        async with self.read() as repo:
            await repo.conn.execute(sa.text("SELECT 1"))

    async def schema_state(self) -> SchemaState:
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        assert head is not None
        async with self.read() as repo:
            current = await repo.conn.run_sync(
                lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
            )
        return SchemaState(current=current, head=head)

    async def migrate(self) -> SchemaState:
        """Bring the schema to the code's head; refuse a schema newer than the code."""
        state = await self.schema_state()
        script = ScriptDirectory.from_config(_alembic_config())
        if state.current is not None and script.get_revision(state.current) is None:
            raise SchemaError(
                f"the database schema is at revision {state.current}, which this version "
                f"of postmortem-receiver does not know (its newest is {state.head}); "
                "upgrade the receiver or point it at another database"
            )
        if not state.is_current:
            async with self.write() as repo:
                await repo.conn.run_sync(_upgrade_to_head)
        return await self.schema_state()

    async def close(self) -> None:
        await self.engine.dispose()


def _upgrade_to_head(sync_conn: sa.Connection) -> None:
    config = _alembic_config()
    config.attributes["connection"] = sync_conn
    command.upgrade(config, "head")


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # let SQLAlchemy, not the driver, decide where transactions begin
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a 2xx promises the webhook survives a power cut, not just a crash
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # IMMEDIATE takes the write lock up front, so two writers never deadlock
        # upgrading read locks
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def open_database(url: str, *, pool_size: int = 5) -> Database:
    target = async_url(url)
    if target.drivername.startswith("sqlite"):
        if target.database and target.database != ":memory:":
            Path(target.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(target)
        _install_sqlite_hooks(engine)
    else:
        engine = create_async_engine(target, pool_size=pool_size, pool_pre_ping=True)
    return Database(engine)
