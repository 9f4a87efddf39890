"""The inbox's statements: append before the answer, then apply behind it in id order."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from receiver.store.connection import Connection, write
from receiver.store.direct import direct
from receiver.store.inbox_append import inbox_row
from receiver.store.records import InboxEntry, InboxRecord
from receiver.store.schema import SPOOLED_COLUMNS, inbox, inbox_applier

# PostgreSQL: one replica applies at a time; the lock ends with the batch's transaction
_APPLIER_LOCK = 0x706D7269  # "pmri"
# ...and one keeps applying: the lease's holder, until it lapses. Times are the
# database's (UTC, as the column stores them), so replicas' clocks never disagree.
_TAKE_LEASE = sa.text(
    "UPDATE inbox_applier SET holder = :me, "
    "lease_until = (now() AT TIME ZONE 'UTC') + make_interval(secs => :seconds) "
    "WHERE name = 'applier' AND (holder = :me OR lease_until IS NULL "
    "OR lease_until < (now() AT TIME ZONE 'UTC')) RETURNING holder"
)

APPEND = sa.insert(inbox).returning(inbox.c.id)
# the applier's statements run straight on SQLite's driver (direct.py)
PENDING = direct(
    sa.select(inbox.c.id, inbox.c.received_at, inbox.c.kind, inbox.c.body, inbox.c.attempts)
    .where(inbox.c.pending.is_(True))
    .order_by(inbox.c.id)
    .limit(sa.bindparam("limit"))
)
MARK = direct(sa.update(inbox).where(inbox.c.id == sa.bindparam("b_id")))
# SQLite: entries moved from the spool (spool.py), their ids kept and their values as
# the spool stores them (the same types: nothing to convert)
_MOVE = (
    f"INSERT INTO {inbox.name} (id, {', '.join(SPOOLED_COLUMNS)}, pending, attempts) "
    f"VALUES (?, {', '.join('?' for _ in SPOOLED_COLUMNS)}, 1, 0)"
)
LARGEST_ID = direct(sa.select(sa.func.max(inbox.c.id)))
_SAVEPOINT = direct(sa.text("SAVEPOINT inbox_entry"))
_ROLLBACK_TO_SAVEPOINT = direct(sa.text("ROLLBACK TO SAVEPOINT inbox_entry"))
_RELEASE_SAVEPOINT = direct(sa.text("RELEASE SAVEPOINT inbox_entry"))
ENTRY = sa.select(
    inbox.c.id,
    inbox.c.received_at,
    inbox.c.kind,
    inbox.c.incident_id,
    inbox.c.pending,
    inbox.c.applied_at,
    inbox.c.outcome,
    inbox.c.draft_revision,
    inbox.c.attempts,
    inbox.c.last_error,
    inbox.c.quarantined_at,
    inbox.c.credential,
    inbox.c.body_bytes,
)
BACKLOG = sa.select(
    sa.func.count(inbox.c.id),
    sa.func.coalesce(sa.func.sum(inbox.c.body_bytes), 0),
    sa.func.min(inbox.c.received_at),
).where(inbox.c.pending.is_(True))


@dataclass(frozen=True, slots=True)
class AppliedMark:
    """What applying an entry did, stored on it."""

    entry_id: int
    incident_id: int | None
    outcome: str
    draft_revision: int | None


@dataclass(frozen=True, slots=True)
class PendingEntry:
    record: InboxRecord
    attempts: int  # failed applications so far


@dataclass(frozen=True, slots=True)
class Backlog:
    entries: int
    bytes: int
    oldest: datetime | None  # receipt time of the oldest entry not yet applied


class InboxStore:
    """Bound to one connection and its transaction, like the Repository."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def append(
        self, kind: str, body: str, received_at: datetime, credential: str | None
    ) -> int:
        """A new entry to apply, inside this transaction; its id orders it. (The accept
        path appends through Database.append_inbox, batched.)"""
        entry_id = await self.conn.scalar(APPEND, inbox_row(kind, body, received_at, credential))
        assert isinstance(entry_id, int)
        return entry_id

    async def take_applier_turn(self, me: str, lease_seconds: float, *, postgres: bool) -> bool:
        """Whether this transaction may apply. On PostgreSQL: no other transaction is
        applying (a lock until commit) and `me` holds the lease, taken when it lapsed
        and renewed here. On SQLite the write lock already gives one writer."""
        if not postgres:
            return True
        locked = await self.conn.scalar(
            sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _APPLIER_LOCK}
        )
        if not locked:
            return False
        holder = await self.conn.scalar(_TAKE_LEASE, {"me": me, "seconds": lease_seconds})
        return bool(holder == me)

    async def applier(self) -> tuple[str | None, datetime | None]:
        """The lease's holder and until when (UTC)."""
        row = (
            await self.conn.execute(
                sa.select(inbox_applier.c.holder, inbox_applier.c.lease_until).where(
                    inbox_applier.c.name == "applier"
                )
            )
        ).first()
        return (None, None) if row is None else (row.holder, row.lease_until)

    async def pending(self, limit: int) -> list[PendingEntry]:
        rows = await self.conn.execute(PENDING, {"limit": limit})
        return [
            PendingEntry(
                InboxRecord(row.id, row.received_at, row.kind, row.body, None), row.attempts
            )
            for row in rows
        ]

    async def largest_id(self) -> int:
        """The largest id the table holds (0 if none)."""
        return int((await self.conn.execute(LARGEST_ID)).scalar() or 0)

    async def move_in(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Entries from the SQLite spool (spool.py's take: their ids, then the columns
        as stored), pending."""
        await self.conn.run_sync(_move_in, rows)

    async def mark_applied(self, marks: Sequence[AppliedMark], now: datetime) -> None:
        """In the transaction of the entries' effects: applied once, even across a crash.
        One statement for a batch's entries."""
        if not marks:
            return
        await write(
            self.conn,
            MARK,
            [
                {
                    "b_id": mark.entry_id,
                    "pending": None,
                    "applied_at": now,
                    "incident_id": mark.incident_id,
                    "outcome": mark.outcome,
                    "draft_revision": mark.draft_revision,
                }
                for mark in marks
            ],
        )

    async def mark_refused(self, entry_id: int, outcome: str, error: str, now: datetime) -> None:
        """The entry can never apply (an event naming no incident): done, with the reason."""
        await self.conn.execute(
            MARK,
            {
                "b_id": entry_id,
                "pending": None,
                "applied_at": now,
                "outcome": outcome,
                "last_error": error,
            },
        )

    async def count_failure(self, entry_id: int, attempts: int, error: str) -> None:
        await self.conn.execute(MARK, {"b_id": entry_id, "attempts": attempts, "last_error": error})

    async def quarantine(self, entry_id: int, now: datetime) -> None:
        await self.conn.execute(MARK, {"b_id": entry_id, "pending": None, "quarantined_at": now})

    async def entry(self, entry_id: int) -> InboxEntry | None:
        row = (await self.conn.execute(ENTRY.where(inbox.c.id == entry_id))).first()
        return None if row is None else _entry(row)

    async def body(self, entry_id: int) -> str | None:
        body = await self.conn.scalar(sa.select(inbox.c.body).where(inbox.c.id == entry_id))
        return None if body is None else str(body)

    async def quarantined(self, limit: int) -> list[InboxEntry]:
        rows = await self.conn.execute(
            ENTRY.where(inbox.c.quarantined_at.is_not(None), inbox.c.pending.is_(None))
            .order_by(inbox.c.id)
            .limit(limit)
        )
        return [_entry(row) for row in rows]

    async def release(self, entry_id: int) -> bool:
        """A quarantined entry back in line, its failures forgotten; False if it is not
        quarantined."""
        result = await self.conn.execute(
            sa.update(inbox)
            .where(
                inbox.c.id == entry_id,
                inbox.c.quarantined_at.is_not(None),
                inbox.c.pending.is_(None),
            )
            .values(pending=True, quarantined_at=None, attempts=0)
        )
        return bool(result.rowcount)

    async def drop(self, entry_id: int) -> bool:
        """A quarantined entry deleted for good; False if it is not quarantined."""
        result = await self.conn.execute(
            sa.delete(inbox).where(
                inbox.c.id == entry_id,
                inbox.c.quarantined_at.is_not(None),
                inbox.c.pending.is_(None),
            )
        )
        return bool(result.rowcount)

    async def backlog(self) -> Backlog:
        row = (await self.conn.execute(BACKLOG)).one()
        return Backlog(int(row[0]), int(row[1]), row[2])

    async def count_quarantined(self) -> int:
        return int(
            await self.conn.scalar(
                sa.select(sa.func.count(inbox.c.id)).where(
                    inbox.c.quarantined_at.is_not(None), inbox.c.pending.is_(None)
                )
            )
            or 0
        )

    @contextlib.asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """One entry's statements, rolled back alone when its application raises."""
        await self.conn.execute(_SAVEPOINT)
        try:
            yield
        except Exception:  # a cancellation abandons the whole transaction instead
            await self.conn.execute(_ROLLBACK_TO_SAVEPOINT)
            await self.conn.execute(_RELEASE_SAVEPOINT)
            raise
        await self.conn.execute(_RELEASE_SAVEPOINT)


def _move_in(conn: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    conn.exec_driver_sql(_MOVE, list(rows))


def spooled_entry(row: dict[str, Any]) -> InboxEntry:
    """An entry the SQLite spool still holds: accepted, not yet applied."""
    return InboxEntry(
        id=row["id"],
        received_at=row["received_at"],
        kind=row["kind"],
        state="pending",
        incident_id=None,
        outcome=None,
        draft_revision=None,
        attempts=0,
        last_error=None,
        applied_at=None,
        quarantined_at=None,
        credential=row["credential"],
        body_bytes=row["body_bytes"],
    )


def _entry(row: Any) -> InboxEntry:
    if row.pending:
        state = "pending"
    elif row.quarantined_at is not None:
        state = "quarantined"
    elif row.outcome in ("created", "changed", "unchanged"):
        state = "applied"
    else:
        state = "refused"
    return InboxEntry(
        id=row.id,
        received_at=row.received_at,
        kind=row.kind,
        state=state,
        incident_id=row.incident_id,
        outcome=row.outcome,
        draft_revision=row.draft_revision,
        attempts=row.attempts,
        last_error=row.last_error,
        applied_at=row.applied_at,
        quarantined_at=row.quarantined_at,
        credential=row.credential,
        body_bytes=row.body_bytes,
    )
