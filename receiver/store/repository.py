"""Queries and writes inside one transaction; the same SQL for SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from receiver.domain.incident import (
    EntryKind,
    Episode,
    Incident,
    IncidentState,
    IncidentStatus,
    Phase,
    Source,
    TimelineEntry,
)
from receiver.domain.placement import SeriesMatch
from receiver.domain.review import HumanFields
from receiver.store.connection import Connection
from receiver.store.evidence import EvidenceStore
from receiver.store.outbox import OutboxStore
from receiver.store.schema import (
    UTCDateTime,
    audit,
    drafts,
    episodes,
    human_fields,
    inbox,
    incidents,
    timeline,
)
from receiver.store.sessions import SessionStore
from receiver.store.throttle import ThrottleStore


@dataclass(frozen=True, slots=True)
class History:
    """What the draft's KPI section needs from earlier incidents."""

    previous_end: datetime | None  # end of the previous incident with the same key
    service_incidents_in_month: int  # this one included
    service_p0_p1_in_quarter: int  # this one included when it is P0/P1


@dataclass(frozen=True, slots=True)
class DraftHead:
    """The latest draft revision of an incident, less its text."""

    revision: int
    created_at: datetime
    created_by: str | None


@dataclass(frozen=True, slots=True)
class DraftContext:
    """What rendering a draft needs from the store, besides the incident's own rows."""

    history: History
    latest: DraftHead | None
    human: HumanFields


@dataclass(frozen=True, slots=True)
class StoredDraft:
    incident_id: int
    revision: int
    language: str
    file_name: str
    markdown: str
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None  # None: the system wrote it


@dataclass(frozen=True, slots=True)
class InboxRecord:
    id: int
    received_at: datetime
    kind: str  # "alertmanager" | "grafana" | "event"
    body: str
    incident_id: int | None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


def _incident_from_row(row: sa.Row[Any]) -> Incident:
    return Incident(
        id=row.id,
        key=row.key,
        receiver=row.receiver,
        group_key=row.group_key,
        group_labels=dict(row.group_labels),
        common_labels=dict(row.common_labels),
        common_annotations=dict(row.common_annotations),
        external_url=row.external_url,
        title=row.title,
        priority=row.priority,
        status=IncidentStatus(row.status),
        service=row.service,
        cycle=row.cycle,
        opened_at=row.opened_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        updated_at=row.updated_at,
        last_delivery_at=row.last_delivery_at,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
    )


def _incident_values(incident: Incident) -> dict[str, Any]:
    return {
        "key": incident.key,
        "open_key": incident.key if incident.is_open else None,
        "receiver": incident.receiver,
        "group_key": incident.group_key,
        "group_labels": incident.group_labels,
        "common_labels": incident.common_labels,
        "common_annotations": incident.common_annotations,
        "external_url": incident.external_url,
        "title": incident.title,
        "priority": incident.priority,
        "status": incident.status.value,
        "service": incident.service,
        "cycle": incident.cycle,
        "opened_at": incident.opened_at,
        "started_at": incident.started_at,
        "ended_at": incident.ended_at,
        "updated_at": incident.updated_at,
        "last_delivery_at": incident.last_delivery_at,
        "approved_by": incident.approved_by,
        "approved_at": incident.approved_at,
    }


def _human_fields(data: Any) -> HumanFields:
    """People's fields as stored (JSON), or none yet."""
    return HumanFields() if data is None else HumanFields.model_validate(data)


def _episode_from_row(row: sa.Row[Any]) -> Episode:
    return Episode(
        id=row.id,
        fingerprint=row.fingerprint,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        resolved=row.resolved,
        labels=dict(row.labels),
        annotations=dict(row.annotations),
        generator_url=row.generator_url,
        cycle=row.cycle,
        first_seen_at=row.first_seen_at,
    )


def _entry_from_row(row: sa.Row[Any]) -> TimelineEntry:
    return TimelineEntry(
        at=row.at,
        phase=Phase(row.phase),
        kind=EntryKind(row.kind),
        source=Source(row.source),
        dedup_key=row.dedup_key,
        actor=row.actor,
        subject=row.subject,
        note=row.note,
        detail=row.detail,
    )


# The statements of the webhook path, built once with bound parameters: SQLAlchemy then
# finds their compiled form by a cache key computed once, instead of building the
# statement and its key again on every call.
_SERIES = (
    sa.select(
        episodes.c.incident_id,
        episodes.c.fingerprint,
        episodes.c.starts_at,
        episodes.c.resolved,
        incidents.c.open_key.is_not(None).label("incident_open"),
    )
    .join(incidents, incidents.c.id == episodes.c.incident_id)
    .where(episodes.c.fingerprint.in_(sa.bindparam("fingerprints", expanding=True)))
)
_LATEST_BY_KEY = (
    sa.select(incidents)
    .where(incidents.c.key == sa.bindparam("key"))
    .order_by(incidents.c.id.desc())
    .limit(1)
)
_INCIDENT = sa.select(incidents).where(incidents.c.id == sa.bindparam("incident_id"))
# PostgreSQL: writers of one incident queue here instead of racing
_INCIDENT_LOCKED = _INCIDENT.with_for_update()
_EPISODES_OF = sa.select(episodes).where(episodes.c.incident_id == sa.bindparam("incident_id"))
_ENTRY_KEYS = sa.select(timeline.c.dedup_key, timeline.c.kind).where(
    timeline.c.incident_id == sa.bindparam("incident_id")
)
_TIMELINE_OF = (
    sa.select(timeline)
    .where(timeline.c.incident_id == sa.bindparam("incident_id"))
    .order_by(timeline.c.at, timeline.c.id)
)
_INSERT_INCIDENT = sa.insert(incidents).returning(incidents.c.id)
_UPDATE_INCIDENT = sa.update(incidents).where(incidents.c.id == sa.bindparam("b_id"))
_INSERT_EPISODES = sa.insert(episodes)
_UPDATE_EPISODES = (
    sa.update(episodes)
    .where(
        episodes.c.incident_id == sa.bindparam("b_incident_id"),
        episodes.c.fingerprint == sa.bindparam("b_fingerprint"),
        episodes.c.starts_at == sa.bindparam("b_starts_at", type_=UTCDateTime),
    )
    .values(
        resolved=sa.bindparam("b_resolved"),
        ends_at=sa.bindparam("b_ends_at", type_=UTCDateTime),
    )
)
_INSERT_ENTRIES = sa.insert(timeline)
_INSERT_INBOX = sa.insert(inbox)
_count = sa.func.count(incidents.c.id)
_SEVERE = ("P0", "P1")
# the incident itself is counted from memory: its stored row may be older than the draft
_other_of_service = sa.and_(
    incidents.c.service == sa.bindparam("service"), incidents.c.id != sa.bindparam("incident_id")
)
_latest_revision = (
    sa.select(sa.func.max(drafts.c.revision))
    .where(drafts.c.incident_id == sa.bindparam("incident_id"))
    .scalar_subquery()
)


def _of_latest_draft(column: sa.Column[Any]) -> sa.ScalarSelect[Any]:
    return (
        sa.select(column)
        .where(
            drafts.c.incident_id == sa.bindparam("incident_id"),
            drafts.c.revision == _latest_revision,
        )
        .scalar_subquery()
    )


# One round trip for all of it: on PostgreSQL each statement is one, and a resolve
# renders a draft before its answer.
_DRAFT_CONTEXT = sa.select(
    sa.select(sa.func.max(incidents.c.ended_at))
    .where(
        incidents.c.key == sa.bindparam("key"),
        incidents.c.id < sa.bindparam("incident_id"),
        incidents.c.ended_at.is_not(None),
    )
    .scalar_subquery()
    .label("previous_end"),
    sa.select(_count)
    .where(
        _other_of_service,
        incidents.c.started_at >= sa.bindparam("month_start", type_=UTCDateTime),
        incidents.c.started_at < sa.bindparam("month_end", type_=UTCDateTime),
    )
    .scalar_subquery()
    .label("in_month"),
    sa.select(_count)
    .where(
        _other_of_service,
        incidents.c.priority.in_(_SEVERE),
        incidents.c.started_at >= sa.bindparam("quarter_start", type_=UTCDateTime),
        incidents.c.started_at < sa.bindparam("quarter_end", type_=UTCDateTime),
    )
    .scalar_subquery()
    .label("severe_in_quarter"),
    _latest_revision.label("latest_revision"),
    _of_latest_draft(drafts.c.created_at).label("latest_created_at"),
    _of_latest_draft(drafts.c.created_by).label("latest_created_by"),
    sa.select(human_fields.c.data)
    .where(human_fields.c.incident_id == sa.bindparam("incident_id"))
    .scalar_subquery()
    .label("human"),
)
_LATEST_DRAFT = (
    sa.select(drafts)
    .where(drafts.c.incident_id == sa.bindparam("incident_id"))
    .order_by(drafts.c.revision.desc())
    .limit(1)
)
_INSERT_DRAFT = sa.insert(drafts)
_UPDATE_DRAFT = sa.update(drafts).where(
    drafts.c.incident_id == sa.bindparam("b_incident_id"),
    drafts.c.revision == sa.bindparam("b_revision"),
)
_MARK_EXPORTED = (
    sa.update(drafts)
    .where(
        drafts.c.incident_id == sa.bindparam("b_incident_id"),
        drafts.c.revision <= sa.bindparam("b_revision"),
        drafts.c.updated_at <= sa.bindparam("b_updated_at", type_=UTCDateTime),
    )
    .values(export_pending=False)
)
_HUMAN_FIELDS_OF = sa.select(human_fields.c.data).where(
    human_fields.c.incident_id == sa.bindparam("incident_id")
)


class Repository:
    """Every statement the receiver runs, bound to one connection and transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.outbox = OutboxStore(conn)  # same connection: messages commit with the change
        self.evidence = EvidenceStore(conn)
        self.sessions = SessionStore(conn)
        self.throttle = ThrottleStore(conn)

    # -- finding the incident a webhook belongs to ---------------------------------

    async def series_matches(self, keys: Sequence[tuple[str, datetime]]) -> SeriesMatch:
        """In one query per 500 series: which incidents already hold which of these
        (fingerprint, startsAt) episodes, and an open incident still firing one of them."""
        wanted = set(keys)
        fingerprints = sorted({fingerprint for fingerprint, _ in wanted})
        holders: dict[tuple[str, datetime], int] = {}
        open_firing: int | None = None
        for chunk in _chunks(fingerprints, 500):
            for row in await self.conn.execute(_SERIES, {"fingerprints": chunk}):
                key = (row.fingerprint, row.starts_at)
                if key in wanted:
                    holders[key] = int(row.incident_id)
                elif row.incident_open and not row.resolved and open_firing is None:
                    open_firing = int(row.incident_id)
        return SeriesMatch(holders, open_firing)

    async def open_incident_by_service(self, service: str) -> int | None:
        found = await self.conn.scalar(
            sa.select(incidents.c.id)
            .where(incidents.c.service == service, incidents.c.open_key.is_not(None))
            .order_by(incidents.c.id.desc())
            .limit(1)
        )
        return None if found is None else int(found)

    async def recent_incident_by_service(self, service: str, since: datetime) -> int | None:
        """The latest incident of the service that ended after `since` and is not approved."""
        found = await self.conn.scalar(
            sa.select(incidents.c.id)
            .where(
                incidents.c.service == service,
                incidents.c.ended_at >= since,
                incidents.c.status != IncidentStatus.APPROVED.value,
            )
            .order_by(incidents.c.ended_at.desc(), incidents.c.id.desc())
            .limit(1)
        )
        return None if found is None else int(found)

    async def unapproved_counts(self) -> dict[tuple[str, str], int]:
        rows = await self.conn.execute(
            sa.select(incidents.c.priority, incidents.c.status, sa.func.count())
            .where(incidents.c.status != IncidentStatus.APPROVED.value)
            .group_by(incidents.c.priority, incidents.c.status)
        )
        return {(row[0], row[1]): int(row[2]) for row in rows}

    async def open_incidents(self) -> list[Incident]:
        """Incidents Alertmanager may still hold alerts for (firing or stale)."""
        rows = await self.conn.execute(
            sa.select(incidents)
            .where(incidents.c.open_key.is_not(None), incidents.c.receiver != "manual")
            .order_by(incidents.c.id)
        )
        return [_incident_from_row(row) for row in rows]

    async def latest_incident_by_key(self, key: str) -> Incident | None:
        row = (await self.conn.execute(_LATEST_BY_KEY, {"key": key})).first()
        return None if row is None else _incident_from_row(row)

    # -- loading and storing ------------------------------------------------------

    async def get_incident(self, incident_id: int, *, lock: bool = False) -> Incident | None:
        query = _INCIDENT_LOCKED if lock else _INCIDENT
        row = (await self.conn.execute(query, {"incident_id": incident_id})).first()
        return None if row is None else _incident_from_row(row)

    async def load_state(self, incident_id: int) -> IncidentState:
        """The incident, locked for this transaction, with its episodes and row keys."""
        incident = await self.get_incident(incident_id, lock=True)
        if incident is None:
            raise LookupError(f"incident {incident_id} does not exist")
        bound = {"incident_id": incident_id}
        loaded = [_episode_from_row(row) for row in await self.conn.execute(_EPISODES_OF, bound)]
        rows = (await self.conn.execute(_ENTRY_KEYS, bound)).all()
        return IncidentState(
            incident=incident,
            episodes={episode.key: episode for episode in loaded},
            entry_keys={row.dedup_key for row in rows},
            acknowledged=any(row.kind == EntryKind.ACK.value for row in rows),
        )

    async def episodes_of(self, incident_id: int) -> list[Episode]:
        rows = await self.conn.execute(
            sa.select(episodes)
            .where(episodes.c.incident_id == incident_id)
            .order_by(episodes.c.starts_at, episodes.c.id)
        )
        return [_episode_from_row(row) for row in rows]

    async def insert_incident(self, incident: Incident) -> int:
        result = await self.conn.execute(_INSERT_INCIDENT, _incident_values(incident))
        incident.id = int(result.scalar_one())
        return incident.id

    async def update_incident(self, incident: Incident) -> None:
        await self.conn.execute(
            _UPDATE_INCIDENT, {"b_id": incident.id, **_incident_values(incident)}
        )

    async def insert_episodes(self, incident_id: int, new: Sequence[Episode]) -> None:
        if not new:
            return
        await self.conn.execute(
            _INSERT_EPISODES,
            [
                {
                    "incident_id": incident_id,
                    "fingerprint": e.fingerprint,
                    "starts_at": e.starts_at,
                    "ends_at": e.ends_at,
                    "resolved": e.resolved,
                    "labels": e.labels,
                    "annotations": e.annotations,
                    "generator_url": e.generator_url,
                    "cycle": e.cycle,
                    "first_seen_at": e.first_seen_at,
                }
                for e in new
            ],
        )

    async def update_episodes(self, incident_id: int, changed: Sequence[Episode]) -> None:
        if not changed:
            return
        # one executemany: a group of a thousand alerts resolves in one round trip
        await self.conn.execute(
            _UPDATE_EPISODES,
            [
                {
                    "b_incident_id": incident_id,
                    "b_fingerprint": e.fingerprint,
                    "b_starts_at": e.starts_at,
                    "b_resolved": e.resolved,
                    "b_ends_at": e.ends_at,
                }
                for e in {e.key: e for e in changed}.values()
            ],
        )

    async def insert_entries(
        self, incident_id: int, entries: Sequence[TimelineEntry], recorded_at: datetime
    ) -> None:
        if not entries:
            return
        await self.conn.execute(
            _INSERT_ENTRIES,
            [
                {
                    "incident_id": incident_id,
                    "at": entry.at,
                    "phase": entry.phase.value,
                    "kind": entry.kind.value,
                    "source": entry.source.value,
                    "actor": entry.actor,
                    "subject": entry.subject,
                    "note": entry.note,
                    "detail": entry.detail,
                    "dedup_key": entry.dedup_key,
                    "recorded_at": recorded_at,
                }
                for entry in entries
            ],
        )

    async def first_acknowledger(self, incident_id: int) -> str | None:
        """Who acknowledged the incident first (a person, or a silence's creator)."""
        actor = await self.conn.scalar(
            sa.select(timeline.c.actor)
            .where(timeline.c.incident_id == incident_id, timeline.c.kind == EntryKind.ACK.value)
            .order_by(timeline.c.at, timeline.c.id)
            .limit(1)
        )
        return None if actor is None else str(actor)

    async def timeline_of(self, incident_id: int) -> list[TimelineEntry]:
        rows = await self.conn.execute(_TIMELINE_OF, {"incident_id": incident_id})
        return [_entry_from_row(row) for row in rows]

    async def record_inbox(
        self, kind: str, body: str, received_at: datetime, incident_id: int | None
    ) -> None:
        await self.conn.execute(
            _INSERT_INBOX,
            {
                "kind": kind,
                "body": body,
                "body_sha256": hashlib.sha256(body.encode()).hexdigest(),
                "received_at": received_at,
                "incident_id": incident_id,
            },
        )

    async def inbox_records(
        self, *, since: datetime | None, incident_id: int | None, after_id: int, limit: int
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
        result = await self.conn.execute(sa.delete(inbox).where(inbox.c.received_at < older_than))
        return int(result.rowcount or 0)

    # -- what a draft is rendered from --------------------------------------------

    async def draft_context(
        self,
        incident: Incident,
        month: tuple[datetime, datetime],
        quarter: tuple[datetime, datetime],
    ) -> DraftContext:
        """Earlier incidents (for the KPI section: `month` and `quarter` bound its counts),
        the latest draft revision and people's fields, in one query."""
        row = (
            await self.conn.execute(
                _DRAFT_CONTEXT,
                {
                    "key": incident.key,
                    "incident_id": incident.id,
                    "service": incident.service,
                    "month_start": month[0],
                    "month_end": month[1],
                    "quarter_start": quarter[0],
                    "quarter_end": quarter[1],
                },
            )
        ).one()
        in_month = month[0] <= incident.started_at < month[1]
        in_quarter = quarter[0] <= incident.started_at < quarter[1]
        history = History(
            previous_end=row.previous_end,
            service_incidents_in_month=int(row.in_month or 0) + in_month,
            service_p0_p1_in_quarter=int(row.severe_in_quarter or 0)
            + (in_quarter and incident.priority in _SEVERE),
        )
        latest = (
            None
            if row.latest_revision is None
            else DraftHead(row.latest_revision, row.latest_created_at, row.latest_created_by)
        )
        return DraftContext(history, latest, _human_fields(row.human))

    # -- drafts ---------------------------------------------------------------------

    async def latest_draft(self, incident_id: int) -> StoredDraft | None:
        row = (await self.conn.execute(_LATEST_DRAFT, {"incident_id": incident_id})).first()
        return None if row is None else _draft_from_row(row)

    async def draft_revisions(self, incident_id: int) -> list[StoredDraft]:
        rows = await self.conn.execute(
            sa.select(drafts).where(drafts.c.incident_id == incident_id).order_by(drafts.c.revision)
        )
        return [_draft_from_row(row) for row in rows]

    async def insert_draft(self, draft: StoredDraft, *, export: bool) -> None:
        await self.conn.execute(
            _INSERT_DRAFT,
            {
                "export_pending": export,
                "incident_id": draft.incident_id,
                "revision": draft.revision,
                "language": draft.language,
                "file_name": draft.file_name,
                "markdown": draft.markdown,
                "created_at": draft.created_at,
                "updated_at": draft.updated_at,
                "created_by": draft.created_by,
            },
        )

    async def update_draft(self, draft: StoredDraft, *, export: bool) -> None:
        await self.conn.execute(
            _UPDATE_DRAFT,
            {
                "b_incident_id": draft.incident_id,
                "b_revision": draft.revision,
                "markdown": draft.markdown,
                "updated_at": draft.updated_at,
                "file_name": draft.file_name,
                "export_pending": export,
            },
        )

    async def mark_exported(self, written: Sequence[StoredDraft]) -> None:
        """The files hold these drafts — unless one was re-rendered meanwhile."""
        if not written:
            return
        await self.conn.execute(
            _MARK_EXPORTED,
            [
                {
                    "b_incident_id": draft.incident_id,
                    "b_revision": draft.revision,
                    "b_updated_at": draft.updated_at,
                }
                for draft in written
            ],
        )

    async def pending_exports(self, limit: int) -> list[StoredDraft]:
        """The newest revision of each incident whose draft file is still to be written."""
        newest = (
            sa.select(drafts.c.incident_id, sa.func.max(drafts.c.revision).label("revision"))
            .where(drafts.c.export_pending.is_(True))
            .group_by(drafts.c.incident_id)
            .subquery()
        )
        rows = await self.conn.execute(
            sa.select(drafts)
            .join(
                newest,
                sa.and_(
                    drafts.c.incident_id == newest.c.incident_id,
                    drafts.c.revision == newest.c.revision,
                ),
            )
            .order_by(drafts.c.incident_id)
            .limit(limit)
        )
        return [_draft_from_row(row) for row in rows]

    async def incident_ids_with_drafts(self) -> list[int]:
        ids = await self.conn.scalars(
            sa.select(drafts.c.incident_id).distinct().order_by(drafts.c.incident_id)
        )
        return [int(incident_id) for incident_id in ids]

    async def draft_revision(self, incident_id: int, revision: int) -> StoredDraft | None:
        row = (
            await self.conn.execute(
                sa.select(drafts).where(
                    drafts.c.incident_id == incident_id, drafts.c.revision == revision
                )
            )
        ).first()
        return None if row is None else _draft_from_row(row)

    # -- what people wrote, and who did what ----------------------------------------------

    async def human_fields_of(self, incident_id: int) -> HumanFields:
        return _human_fields(await self.conn.scalar(_HUMAN_FIELDS_OF, {"incident_id": incident_id}))

    async def save_human_fields(
        self, incident_id: int, fields: HumanFields, actor: str, now: datetime
    ) -> None:
        values = {"data": fields.model_dump(mode="json"), "updated_at": now, "updated_by": actor}
        updated = await self.conn.execute(
            sa.update(human_fields)
            .where(human_fields.c.incident_id == incident_id)
            .values(**values)
        )
        if updated.rowcount == 0:
            await self.conn.execute(
                sa.insert(human_fields).values(incident_id=incident_id, **values)
            )

    async def record_audit(
        self, incident_id: int, actor: str, action: str, detail: dict[str, Any], now: datetime
    ) -> None:
        await self.conn.execute(
            sa.insert(audit).values(
                incident_id=incident_id, at=now, actor=actor, action=action, detail=detail
            )
        )

    async def audit_of(self, incident_id: int) -> list[AuditRecord]:
        rows = await self.conn.execute(
            sa.select(audit).where(audit.c.incident_id == incident_id).order_by(audit.c.id)
        )
        return [AuditRecord(row.at, row.actor, row.action, dict(row.detail)) for row in rows]

    # -- listing --------------------------------------------------------------------

    async def list_incidents(
        self,
        *,
        limit: int,
        offset: int = 0,
        status: IncidentStatus | None = None,
        service: str | None = None,
        priority: str | None = None,
    ) -> tuple[list[Incident], int]:
        conditions: list[sa.ColumnElement[bool]] = []
        if status is not None:
            conditions.append(incidents.c.status == status.value)
        if service:
            conditions.append(incidents.c.service == service)
        if priority:
            conditions.append(incidents.c.priority == priority)
        total = await self.conn.scalar(
            sa.select(sa.func.count()).select_from(incidents).where(*conditions)
        )
        rows = await self.conn.execute(
            sa.select(incidents)
            .where(*conditions)
            .order_by(incidents.c.started_at.desc(), incidents.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_incident_from_row(row) for row in rows], int(total or 0)


def _draft_from_row(row: sa.Row[Any]) -> StoredDraft:
    return StoredDraft(
        incident_id=row.incident_id,
        revision=row.revision,
        language=row.language,
        file_name=row.file_name,
        markdown=row.markdown,
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
    )


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
