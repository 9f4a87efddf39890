"""One transaction per use case, retried whole when another writer won a race."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import structlog

from receiver.domain.incident import IncidentState
from receiver.store import Database, Repository, StoreUnavailable, WriteConflict
from receiver.usecases.errors import IncidentNotFound

log = structlog.get_logger(__name__)

# Two replicas racing to open or reopen the same key: the loser's transaction hits a
# unique constraint, and its retry finds the winner's incident.
CONFLICT_RETRIES = 5

T = TypeVar("T")
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UnitOfWork:
    """Runs a job in one write transaction (the store's group commit batches them), with
    the time read once per attempt and passed in: the domain never reads the clock."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def write(self, what: str, job: Callable[[Repository, datetime], Awaitable[T]]) -> T:
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                return await self.db.run_write(_at(job, self.clock()))
            except WriteConflict as exc:
                log.info("store.conflict_retry", what=what, attempt=attempt, error=str(exc))
                if attempt == CONFLICT_RETRIES:
                    raise StoreUnavailable("concurrent writers kept conflicting") from exc
        raise AssertionError("unreachable")  # pragma: no cover


def _at(
    job: Callable[[Repository, datetime], Awaitable[T]], now: datetime
) -> Callable[[Repository], Awaitable[T]]:
    """The job bound to the attempt's time."""

    async def at_now(repo: Repository) -> T:
        return await job(repo, now)

    return at_now


async def load(repo: Repository, incident_id: int) -> IncidentState:
    """An incident's state for the domain to change, or IncidentNotFound."""
    try:
        return await repo.load_state(incident_id)
    except LookupError as exc:
        raise IncidentNotFound(f"no incident with id {incident_id}") from exc
