"""Queries and writes inside one transaction; the same SQL for SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from receiver.store.action_items import ActionItemStore
from receiver.store.change_rows import ChangeRows
from receiver.store.change_verdicts import ChangeVerdicts
from receiver.store.connection import Connection, PostgresConnection
from receiver.store.draft_rows import DraftRows
from receiver.store.evidence import EvidenceStore
from receiver.store.inbox import InboxStore
from receiver.store.inbox_append import inbox_row
from receiver.store.incident_rows import IncidentRows
from receiver.store.kpi_rows import KpiStore
from receiver.store.outbox import OutboxStore
from receiver.store.policy import PolicyStore
from receiver.store.records import InboxRecord
from receiver.store.recurrence_rows import RecurrenceStore
from receiver.store.schema import inbox
from receiver.store.sessions import SessionStore
from receiver.store.slo_kpi_rows import SloKpiStore
from receiver.store.statements import INSERT_INBOX
from receiver.store.throttle import ThrottleStore


class Repository(IncidentRows, DraftRows):
    """Every statement the receiver runs, bound to one connection and transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._as_stored = {}  # incidents as their rows hold them (IncidentRows)
        self._reserved_ids = []  # and ids drawn for those it may open
        self.outbox = OutboxStore(conn)  # same connection: messages commit with the change
        self.evidence = EvidenceStore(conn)
        self.policy = PolicyStore(conn)  # whether a postmortem is required (SLO services)
        self.kpi = KpiStore(conn)  # what the KPI page reads
        self.slo_kpi = SloKpiStore(conn)  # and of the SLOs
        self.inbox = InboxStore(conn)
        self.sessions = SessionStore(conn)
        self.throttle = ThrottleStore(conn)
        self.changes = ChangeRows(conn)  # changes to services (issue 20)
        self.change_verdicts = ChangeVerdicts(conn)  # people's verdicts on them, per incident
        self.actions = ActionItemStore(conn)  # tracked action items (issue 21)
        self.recurrence = RecurrenceStore(conn)  # past incidents a new one repeats

    # -- writes held back (held_writes.py) ------------------------------------------

    def hold_writes(self) -> None:
        """PostgreSQL: from now on, the writes nobody reads the result of wait for the
        transaction's next read or flush_writes; elsewhere they run at once, as ever."""
        if isinstance(self.conn, PostgresConnection):
            self.conn.hold_writes()

    async def flush_writes(self) -> None:
        if isinstance(self.conn, PostgresConnection):
            await self.conn.flush()

    # -- the inbox: every input as it arrived, for replay -------------------------------

    async def record_inbox(
        self, kind: str, body: str, received_at: datetime, incident_id: int | None
    ) -> None:
        """An input stored with its effects, in their transaction: applied already."""
        row = inbox_row(kind, body, received_at, None)
        row.update(incident_id=incident_id, applied_at=received_at, pending=None)
        await self.conn.execute(INSERT_INBOX, row)

    async def inbox_records(
        self,
        *,
        since: datetime | None,
        incident_id: int | None,
        after_id: int,
        limit: int,
    ) -> list[InboxRecord]:
        conditions = [inbox.c.id > after_id]
        if since is not None:
            conditions.append(inbox.c.received_at >= since)
        if incident_id is not None:
            conditions.append(inbox.c.incident_id == incident_id)
        rows = await self.conn.execute(
            sa.select(inbox).where(*conditions).order_by(inbox.c.id).limit(limit)
        )
        return [
            InboxRecord(row.id, row.received_at, row.kind, row.body, row.incident_id)
            for row in rows
        ]

    async def prune_inbox(self, older_than: datetime) -> int:
        # an entry still to apply (or quarantined) is kept whatever its age
        result = await self.conn.execute(
            sa.delete(inbox).where(
                inbox.c.received_at < older_than,
                inbox.c.pending.is_(None),
                inbox.c.quarantined_at.is_(None),
            )
        )
        return int(result.rowcount or 0)
