"""The database as the commands that read it see it: one that exists and is migrated."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from receiver.cli.failures import UserError
from receiver.cli.texts import say
from receiver.config import Settings
from receiver.store import Database, open_configured_database


def shown_url(url: str) -> str:
    """The database URL with its password hidden, for people and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url.rpartition("@")[2]


def sqlite_path(url: str) -> str | None:
    """The file a SQLite URL names; None for PostgreSQL and in-memory databases."""
    parsed = sa.make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file the URL names, when there is no such file yet."""
    path = sqlite_path(url)
    if path is None or Path(path).expanduser().exists():
        return None
    return Path(path).expanduser()


async def open_existing(settings: Settings, language: str) -> Database:
    """The configured database, brought to this version's schema when RECEIVER_AUTO_MIGRATE
    allows, else refused unless it is there already: a command that reads incidents creates
    no empty database where a mistyped path points."""
    missing = missing_sqlite_file(settings.database_url)
    if missing is not None:
        raise UserError("sqlite_missing", path=missing)
    database = open_configured_database(settings)
    try:
        if settings.auto_migrate:
            await database.migrate()
        else:
            state = await database.schema_state()
            if not state.is_current:
                raise UserError(
                    "not_migrated",
                    database=shown_url(settings.database_url),
                    current=state.current or say(language, "schema_empty"),
                    head=state.head,
                )
    except BaseException:
        await database.close()
        raise
    return database
