"""The rows of incidents, their episodes and timelines: finding the incident a webhook
belongs to, loading one to change it, storing the change, and listing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from receiver.domain.incident import (
    EntryKind,
    Episode,
    Incident,
    IncidentState,
    IncidentStatus,
    TimelineEntry,
)
from receiver.domain.placement import SeriesMatch, SeriesRow, series_match
from receiver.store.connection import Connection, write
from receiver.store.mapping import from_row, to_values
from receiver.store.policy import policy_condition
from receiver.store.schema import episodes, incidents, timeline
from receiver.store.statements import (
    ENTRY_KEYS,
    ENTRY_KEYS_OF_MANY,
    EPISODES_OF,
    EPISODES_OF_MANY,
    INCIDENT,
    INCIDENT_LOCKED,
    INSERT_ENTRIES,
    INSERT_EPISODES,
    INSERT_INCIDENT,
    INSERT_INCIDENT_WITH_ID,
    LATEST_BY_KEY,
    LATEST_BY_KEYS,
    LATEST_BY_KEYS_LOCKED,
    RESERVE_INCIDENT_IDS,
    SERIES,
    TIMELINE_OF,
    UPDATE_EPISODES,
    UPDATE_INCIDENT,
)

_Item = TypeVar("_Item")


class IncidentRows:
    conn: Connection
    # the incidents this transaction loaded or wrote, by the object's identity (holding
    # the object, so the identity stays its own): the values their rows hold now, so
    # that update_incident writes only the columns that changed. A repeat notification
    # moves a timestamp or two; writing every column re-encoded three label sets.
    _as_stored: dict[int, tuple[Incident, dict[str, Any]]]
    # ids drawn ahead for incidents this transaction may open (PostgreSQL), lowest first
    _reserved_ids: list[int]

    # -- finding the incident a webhook belongs to ---------------------------------

    async def series_matches(self, keys: Sequence[tuple[str, datetime]]) -> SeriesMatch:
        """In one query per 500 series: which incidents already hold which of these
        (fingerprint, startsAt) episodes, and an open incident still firing one of them."""
        wanted = set(keys)
        rows = await self.series_rows({fingerprint for fingerprint, _ in wanted})
        return series_match(rows, wanted)

    async def series_rows(self, fingerprints: Iterable[str]) -> list[SeriesRow]:
        """The stored episodes of these series, in one query per 500 of them."""
        found: list[SeriesRow] = []
        for chunk in _chunks(sorted(set(fingerprints)), 500):
            for row in await self.conn.execute(SERIES, {"fingerprints": chunk}):
                found.append(
                    SeriesRow(
                        int(row.incident_id),
                        row.fingerprint,
                        row.starts_at,
                        bool(row.resolved),
                        bool(row.incident_open),
                    )
                )
        return found

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

    async def latest_incident_by_key(self, key: str) -> Incident | None:
        row = (await self.conn.execute(LATEST_BY_KEY, {"key": key})).first()
        return None if row is None else from_row(Incident, row)

    async def latest_incidents_by_keys(
        self, keys: Iterable[str], *, lock: bool = False
    ) -> dict[str, Incident]:
        """The latest incident of each of these keys that has one, in one query per 500;
        `lock`: locked for this transaction (PostgreSQL), in id order."""
        found: dict[str, Incident] = {}
        query = LATEST_BY_KEYS_LOCKED if lock else LATEST_BY_KEYS
        for chunk in _chunks(sorted(set(keys)), 500):
            for row in await self.conn.execute(query, {"keys": chunk}):
                incident = from_row(Incident, row)
                found[incident.key] = incident
        return found

    # -- loading and storing ------------------------------------------------------

    async def previous_end_of_service(self, incident: Incident) -> datetime | None:
        """When the service's latest earlier incident ended, if it had ended by this one's
        start: the SLI's trouble before then was that incident's."""
        ended: datetime | None = await self.conn.scalar(
            sa.select(sa.func.max(incidents.c.ended_at)).where(
                incidents.c.service == incident.service,
                incidents.c.id != incident.id,
                incidents.c.ended_at <= incident.started_at,
            )
        )
        return ended

    async def get_incident(self, incident_id: int, *, lock: bool = False) -> Incident | None:
        query = INCIDENT_LOCKED if lock else INCIDENT
        row = (await self.conn.execute(query, {"incident_id": incident_id})).first()
        return None if row is None else from_row(Incident, row)

    async def states_of(self, held: Sequence[Incident]) -> dict[int, IncidentState]:
        """The states of incidents this transaction holds (read locked, or as SQLite's one
        writer), in one query per 500 for their episodes and one for their row keys
        instead of two per incident."""
        states = {
            incident.id: IncidentState(incident=incident)
            for incident in held
            if incident.id is not None
        }
        for chunk in _chunks(sorted(states), 500):
            bound = {"incident_ids": list(chunk)}
            for row in await self.conn.execute(EPISODES_OF_MANY, bound):
                episode = from_row(Episode, row)
                states[int(row.incident_id)].episodes[episode.key] = episode
            for row in await self.conn.execute(ENTRY_KEYS_OF_MANY, bound):
                state = states[int(row.incident_id)]
                state.entry_keys.add(row.dedup_key)
                state.acknowledged = state.acknowledged or row.kind == EntryKind.ACK.value
        return states

    def adopt_state(self, state: IncidentState) -> IncidentState:
        """A state this transaction read already (states_of): changed without reading it
        again, its incident's row written narrowly as if load_state had read it."""
        self._remember(state.incident, _incident_values(state.incident))
        return state

    async def load_state(
        self, incident_id: int, *, as_read: Incident | None = None
    ) -> IncidentState:
        """The incident, locked for this transaction, with its episodes and row keys.

        `as_read`: the incident as this transaction read it already, when no other
        transaction can have written it since (SQLite's one writer is this transaction):
        it is not read again."""
        incident = as_read
        if incident is None or incident.id != incident_id:
            incident = await self.get_incident(incident_id, lock=True)
        if incident is None:
            raise LookupError(f"incident {incident_id} does not exist")
        self._remember(incident, _incident_values(incident))
        bound = {"incident_id": incident_id}
        loaded = [from_row(Episode, row) for row in await self.conn.execute(EPISODES_OF, bound)]
        rows = (await self.conn.execute(ENTRY_KEYS, bound)).all()
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
        return [from_row(Episode, row) for row in rows]

    async def reserve_incident_ids(self, count: int) -> None:
        """PostgreSQL: draw ids for `count` incidents this transaction may open, in one
        round trip, so that opening one is a write like any other, which can be held
        (held_writes.py). Ids drawn and not used are gaps, as a rollback leaves."""
        rows = await self.conn.execute(RESERVE_INCIDENT_IDS, {"count": count})
        self._reserved_ids.extend(int(row[0]) for row in rows)
        self._reserved_ids.sort()  # incidents opened later get higher ids, as ever

    async def insert_incident(self, incident: Incident) -> int:
        values = _incident_values(incident)
        if self._reserved_ids:
            incident.id = self._reserved_ids.pop(0)
            await write(self.conn, INSERT_INCIDENT_WITH_ID, {**values, "id": incident.id})
        else:
            result = await self.conn.execute(INSERT_INCIDENT, values)
            incident.id = int(result.scalar_one())
        self._remember(incident, values)
        return incident.id

    async def update_incident(self, incident: Incident) -> None:
        """Write the incident's row: the columns that changed since this transaction
        loaded or wrote this very object, else all of them."""
        values = _incident_values(incident)
        known = self._known(incident)
        changed = values if known is None else _changed(known, values)
        if changed:
            await write(self.conn, UPDATE_INCIDENT, {"b_id": incident.id, **changed})
        self._remember(incident, values)

    def _remember(self, incident: Incident, values: dict[str, Any]) -> None:
        # copies of the label sets: a set changed in place must still count as changed
        copied = {k: dict(v) if isinstance(v, dict) else v for k, v in values.items()}
        self._as_stored[id(incident)] = (incident, copied)

    def _known(self, incident: Incident) -> dict[str, Any] | None:
        remembered = self._as_stored.get(id(incident))
        return None if remembered is None else remembered[1]

    async def insert_episodes(self, incident_id: int, new: Sequence[Episode]) -> None:
        if not new:
            return
        await write(
            self.conn,
            INSERT_EPISODES,
            [{"incident_id": incident_id, **to_values(e)} for e in new],
        )

    async def update_episodes(self, incident_id: int, changed: Sequence[Episode]) -> None:
        if not changed:
            return
        # one executemany: a group of a thousand alerts resolves in one round trip
        await write(
            self.conn,
            UPDATE_EPISODES,
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
        await write(
            self.conn,
            INSERT_ENTRIES,
            [
                {
                    "incident_id": incident_id,
                    **to_values(entry),
                    "recorded_at": recorded_at,
                }
                for entry in entries
            ],
        )

    async def first_acknowledger(self, incident_id: int) -> str | None:
        """Who acknowledged the incident first (a person, or a silence's creator)."""
        actor = await self.conn.scalar(
            sa.select(timeline.c.actor)
            .where(
                timeline.c.incident_id == incident_id,
                timeline.c.kind == EntryKind.ACK.value,
            )
            .order_by(timeline.c.at, timeline.c.id)
            .limit(1)
        )
        return None if actor is None else str(actor)

    async def timeline_of(self, incident_id: int) -> list[TimelineEntry]:
        rows = await self.conn.execute(TIMELINE_OF, {"incident_id": incident_id})
        return [from_row(TimelineEntry, row) for row in rows]

    # -- listing --------------------------------------------------------------------

    async def open_incidents(self, after_id: int, limit: int) -> list[Incident]:
        """Incidents Alertmanager may still hold alerts for (firing or stale), up to
        `limit` of them past `after_id`, in id order."""
        rows = await self.conn.execute(
            sa.select(incidents)
            .where(
                incidents.c.open_key.is_not(None),
                incidents.c.receiver != "manual",
                incidents.c.id > after_id,
            )
            .order_by(incidents.c.id)
            .limit(limit)
        )
        return [from_row(Incident, row) for row in rows]

    async def unapproved_counts(self) -> dict[tuple[str, str], int]:
        rows = await self.conn.execute(
            sa.select(incidents.c.priority, incidents.c.status, sa.func.count())
            .where(incidents.c.status != IncidentStatus.APPROVED.value)
            .group_by(incidents.c.priority, incidents.c.status)
        )
        return {(row[0], row[1]): int(row[2]) for row in rows}

    async def list_incidents(
        self,
        *,
        limit: int,
        offset: int = 0,
        status: IncidentStatus | None = None,
        service: str | None = None,
        priority: str | None = None,
        since: datetime | None = None,
        postmortem: str | None = None,
    ) -> tuple[list[Incident], int]:
        conditions: list[sa.ColumnElement[bool]] = []
        if postmortem is not None:
            conditions.append(policy_condition(postmortem))
        if since is not None:
            conditions.append(incidents.c.started_at >= since)
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
        return [from_row(Incident, row) for row in rows], int(total or 0)


def _incident_values(incident: Incident) -> dict[str, Any]:
    # open_key is unique: at most one open incident per key
    return {
        **to_values(incident),
        "open_key": incident.key if incident.is_open else None,
    }


def _changed(known: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    missing = object()
    return {k: v for k, v in values.items() if known.get(k, missing) != v}


def _chunks(items: Sequence[_Item], size: int) -> Iterable[Sequence[_Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
