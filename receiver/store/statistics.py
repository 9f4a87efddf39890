"""PostgreSQL's planner statistics for the tables a storm grows.

Autovacuum analyzes a table once about a tenth of it has changed, looking once a minute.
A table that grows faster than that (a young database's first storm, or a storm on a
small one) is planned from statistics that still describe it as it was: measured after
8,000 incidents, the lookups a storm's resolves make (a key's earlier incident, its
alerts' series) chose bitmap scans over the whole id and time ranges instead of the
key's few rows, 7 ms for the earlier incident against 0.1 ms once analyzed. So the
applier counts the rows it adds and has the tables analyzed once those are a tenth of
what was there (and MIN_ROWS), the rule autovacuum applies, without waiting for its next
look.
"""

from __future__ import annotations

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger(__name__)

GROWING = ("incidents", "episodes", "timeline")
# rows added before the first ANALYZE; then a tenth of the rows there were
MIN_ROWS = 1000
_SIZE = sa.text(
    "SELECT coalesce(sum(greatest(reltuples, 0)), 0) FROM pg_class "
    "WHERE oid IN (" + ", ".join(f"to_regclass('{name}')" for name in GROWING) + ")"
)
_ANALYZE = sa.text("ANALYZE " + ", ".join(GROWING))


class PlannerStatistics:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.rows_then: float | None = None  # the tables' rows at the last ANALYZE
        self.added = 0  # rows added since

    async def added_rows(self, rows: int) -> None:
        """The applier added `rows`; analyze the tables when they are due. A failure is
        logged: autovacuum analyzes them in the end."""
        self.added += rows
        if self.rows_then is not None and self.added < max(MIN_ROWS, self.rows_then / 10):
            return
        try:
            async with self.engine.connect() as conn:
                if self.rows_then is not None:
                    await conn.execute(_ANALYZE)
                    log.info("store.analyzed", tables=list(GROWING), rows_added=self.added)
                    self.added = 0
                self.rows_then = float((await conn.execute(_SIZE)).scalar_one())
                await conn.commit()
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            log.warning("store.analyze_failed", error=str(exc))
            self.added = 0  # not tried again at every batch
