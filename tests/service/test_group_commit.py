"""SQLite group commit: jobs share a transaction, fail alone, and answer after commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from receiver.store import Repository, open_database
from receiver.store.schema import inbox

NOW = datetime(2026, 11, 26, 19, 12, tzinfo=UTC)


class Boom(Exception):
    pass


async def test_batched_jobs_commit_together_and_fail_alone(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path}/g.db")
    await database.migrate()

    def job(number: int, fail: bool) -> Callable[[Repository], Awaitable[int]]:
        async def run(repo: Repository) -> int:
            await repo.record_inbox("test", f"body {number}", NOW, None)
            if fail:
                raise Boom(number)
            return number

        return run

    try:
        jobs = [database.run_write(job(n, fail=n == 3)) for n in range(10)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        assert [r for r in results if not isinstance(r, Boom)] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
        assert isinstance(results[3], Boom)
        async with database.read() as repo:
            bodies = await repo.conn.scalars(sa.select(inbox.c.body).order_by(inbox.c.id))
            stored = list(bodies)
        assert "body 3" not in stored
        assert len(stored) == 9

        with pytest.raises(Boom):
            await database.run_write(job(99, fail=True))
        async with database.read() as repo:
            count = await repo.conn.scalar(sa.select(sa.func.count()).select_from(inbox))
        assert count == 9  # the lone failing job left nothing behind
    finally:
        await database.close()
