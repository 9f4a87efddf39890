"""What a batch of webhooks reads to place them, read once for the whole batch.

Placing a webhook reads the stored episodes of its series and the latest incident of
its key: two statements per webhook (two round trips on PostgreSQL). A batch reads both
for all its webhooks up front.

The latest incidents it read are held until the batch commits (SQLite's one writer, or
PostgreSQL's row locks, taken by the read), so their states (episodes and row keys) are
read with them, for all at once, and an entry changes its incident's state without
reading it again: a repeat notification reads nothing of its own. What an entry stores
for a key read ahead is followed as it is written (the incident's state, its rows of the
series read, its key's latest incident), so the next entries of that incident (a
resolve right behind its firing) read nothing either. An entry that wrote anything else
(an incident of a key not read ahead) makes what it touched be read again, inside the
batch's transaction, where the earlier entries' writes are seen as they always were.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from receiver.domain.incident import Change, Incident, IncidentState
from receiver.domain.placement import SeriesMatch, SeriesRow, series_match
from receiver.store import Repository


class BatchReads:
    def __init__(self, *, sole_writer: bool = False) -> None:
        # the batch's transaction is the database's one writer (SQLite): an incident it
        # read stays as read until the batch writes it. On PostgreSQL a review may change
        # it meanwhile: the latest incidents are read locked instead.
        self.sole_writer = sole_writer
        self._states: dict[int, IncidentState] = {}  # of the latest incidents, as read
        # the same series rows by incident, to rebuild those of an incident written
        self._rows_of: dict[int, list[SeriesRow]] = defaultdict(list)
        self._rows: dict[str, list[SeriesRow]] = defaultdict(list)
        self._read_fingerprints: set[str] = set()
        self._latest: dict[str, Incident] = {}
        self._read_keys: set[str] = set()
        # what the batch's applied entries wrote: what was read of these is stale
        self._written_incidents: set[int] = set()
        self._written_fingerprints: set[str] = set()
        self._written_keys: set[str] = set()
        self._stale = False  # an entry wrote what this does not follow: read again

    async def read(
        self, repo: Repository, fingerprints: Iterable[str], keys: Iterable[str]
    ) -> None:
        """Read the batch's series and keys, in one query for each (per 500)."""
        fingerprints, keys = set(fingerprints), set(keys)
        for row in await repo.series_rows(fingerprints):
            self._rows[row.fingerprint].append(row)
            self._rows_of[row.incident_id].append(row)
        self._read_fingerprints |= fingerprints
        latest = await repo.latest_incidents_by_keys(keys, lock=not self.sole_writer)
        self._latest.update(latest)
        self._read_keys |= keys
        self._states.update(await repo.states_of(list(latest.values())))

    async def series_matches(
        self, repo: Repository, wanted: Sequence[tuple[str, datetime]]
    ) -> SeriesMatch:
        fingerprints = {fingerprint for fingerprint, _ in wanted}
        rows = [row for fingerprint in fingerprints for row in self._rows[fingerprint]]
        if self._stale or not self._holds(fingerprints, rows):
            return await repo.series_matches(wanted)
        return series_match(rows, set(wanted))

    async def latest_incident_by_key(self, repo: Repository, key: str) -> Incident | None:
        if self._stale or key not in self._read_keys or key in self._written_keys:
            return await repo.latest_incident_by_key(key)
        return self._latest.get(key)

    def keys_to_open(self, keys: Iterable[str]) -> int:
        """How many of these keys had no open incident when read: at most that many
        incidents the batch's webhooks open."""
        return sum(
            1
            for key in set(keys)
            if key in self._read_keys and not (key in self._latest and self._latest[key].is_open)
        )

    def state(self, incident_id: int) -> IncidentState | None:
        """A copy of the incident's state as read (or as the batch stored it since), to
        change without reading it again; None when it must be read."""
        state = self._states.get(incident_id)
        if state is None or self._stale or incident_id in self._written_incidents:
            return None
        return _copy(state)  # the entry changes its copy; a failed one leaves this

    def as_read(self, latest: Incident | None, incident_id: int) -> Incident | None:
        """A copy of the incident `latest_incident_by_key` gave, to change without reading
        it again; None when it must be read (locked) again."""
        if not self.sole_writer or latest is None or latest.id != incident_id:
            return None
        return replace(latest)  # the entry changes its copy; a failed one leaves this

    def wrote(self, change: Change) -> None:
        """An entry's change is stored. An incident of a key read ahead is followed: its
        state as stored now is what the next entries get, its rows of the series read
        ahead are rebuilt from its episodes, and it is its key's latest (ids ascend).
        Anything else the entry wrote is read again from now on."""
        incident = change.state.incident
        if incident.id is None or incident.key not in self._read_keys:
            if incident.id is not None:
                self._written_incidents.add(incident.id)
            self._written_keys.add(incident.key)
            for episode in (*change.new_episodes, *change.changed_episodes):
                self._written_fingerprints.add(episode.fingerprint)
            return
        # the entry's own state: nothing changes it before the batch's end (its draft,
        # which no later entry reads), and each later entry changes a copy (state)
        kept = change.state
        self._states[incident.id] = kept
        latest = self._latest.get(incident.key)
        if latest is None or latest.id is None or latest.id <= incident.id:
            self._latest[incident.key] = kept.incident
        own: dict[str, list[SeriesRow]] = defaultdict(list)
        for episode in kept.episodes.values():
            if episode.fingerprint in self._read_fingerprints:
                own[episode.fingerprint].append(
                    SeriesRow(
                        incident.id,
                        episode.fingerprint,
                        episode.starts_at,
                        episode.resolved,
                        incident.is_open,
                    )
                )
        # every read series that holds one of its episodes, before or after
        held = {row.fingerprint for row in self._rows_of[incident.id]} | set(own)
        for fingerprint in held:
            others = [r for r in self._rows[fingerprint] if r.incident_id != incident.id]
            self._rows[fingerprint] = others + own.get(fingerprint, [])
        self._rows_of[incident.id] = [row for rows in own.values() for row in rows]

    def wrote_anything(self) -> None:
        """An entry wrote what these reads do not follow (a change to a service revising
        drafts): everything is read again."""
        self._stale = True

    def _holds(self, fingerprints: set[str], rows: list[SeriesRow]) -> bool:
        # the incidents of keys read ahead are followed as they are written (wrote)
        return (
            fingerprints <= self._read_fingerprints
            and not fingerprints & self._written_fingerprints
            and not any(row.incident_id in self._written_incidents for row in rows)
        )


def _copy(state: IncidentState) -> IncidentState:
    return IncidentState(
        incident=replace(state.incident),
        episodes={key: replace(episode) for key, episode in state.episodes.items()},
        entry_keys=set(state.entry_keys),
        acknowledged=state.acknowledged,
    )
