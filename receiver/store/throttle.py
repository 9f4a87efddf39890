"""The login_failures table's statements: counts per key, read under a row lock so that
replicas counting the same client at once add up (receiver.throttle decides)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from receiver.store.connection import Connection
from receiver.store.schema import login_failures
from receiver.throttle import FORGET_AFTER, Failures


class ThrottleStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def of(self, keys: Sequence[str], *, lock: bool = False) -> dict[str, Failures]:
        query = sa.select(login_failures).where(login_failures.c.key.in_(list(keys)))
        if lock:
            query = query.with_for_update()  # PostgreSQL; SQLite's writer is alone anyway
        rows = await self.conn.execute(query)
        return {
            row.key: Failures(row.failures, row.last_failure_at, row.blocked_until) for row in rows
        }

    async def blocked(self, now: datetime) -> dict[str, datetime]:
        """Every key blocked at this moment, and until when."""
        rows = await self.conn.execute(
            sa.select(login_failures.c.key, login_failures.c.blocked_until).where(
                login_failures.c.blocked_until > now
            )
        )
        return {row.key: row.blocked_until for row in rows}

    async def save(self, key: str, failures: Failures, *, new: bool) -> None:
        """A key's count as it now is. Two replicas inserting the same new key at once:
        the loser's unique violation is a WriteConflict, and its retry finds the row."""
        values = {
            "failures": failures.count,
            "last_failure_at": failures.last_at,
            "blocked_until": failures.blocked_until,
        }
        if new:
            await self.conn.execute(login_failures.insert().values(key=key, **values))
        else:
            await self.conn.execute(
                login_failures.update().where(login_failures.c.key == key).values(**values)
            )

    async def forget(self, keys: Sequence[str]) -> None:
        await self.conn.execute(login_failures.delete().where(login_failures.c.key.in_(list(keys))))

    async def forget_quiet(self, now: datetime) -> int:
        """Rows nobody is blocked by and that were quiet long enough to count no more."""
        result = await self.conn.execute(
            login_failures.delete().where(
                login_failures.c.last_failure_at <= now - FORGET_AFTER,
                sa.or_(
                    login_failures.c.blocked_until.is_(None),
                    login_failures.c.blocked_until <= now,
                ),
            )
        )
        return int(result.rowcount or 0)
