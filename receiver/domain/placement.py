"""Which incident a webhook joins. Pure: the store finds the candidates, this decides."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from receiver.domain.incident import Incident, Rules
from receiver.domain.lifecycle import GroupReport, can_reopen

EpisodeKey = tuple[str, datetime]  # (fingerprint, starts_at)


@dataclass(frozen=True, slots=True)
class SeriesMatch:
    """The incidents already holding a webhook's alerts."""

    holders: dict[EpisodeKey, int]  # episode key → the incident holding it
    open_firing: int | None  # open, and still firing one of the webhook's series

    @property
    def exact(self) -> int | None:
        """The incident holding the first of the webhook's episodes that one holds."""
        return min(self.holders.values(), default=None)


@dataclass(frozen=True, slots=True)
class SeriesRow:
    """A stored episode of one of a webhook's series, and whether its incident is open."""

    incident_id: int
    fingerprint: str
    starts_at: datetime
    resolved: bool
    incident_open: bool


def series_match(rows: Iterable[SeriesRow], wanted: set[EpisodeKey]) -> SeriesMatch:
    """Which incidents hold the wanted episodes (the one with the highest id when two
    do), and the first open incident still firing one of their series."""
    holders: dict[EpisodeKey, int] = {}
    open_firing: int | None = None
    for row in sorted(rows, key=lambda row: row.incident_id):
        key = (row.fingerprint, row.starts_at)
        if key in wanted:
            holders[key] = row.incident_id
        elif row.incident_open and not row.resolved and open_firing is None:
            open_firing = row.incident_id
    return SeriesMatch(holders, open_firing)


@dataclass(frozen=True, slots=True)
class Placement:
    incident_id: int | None  # None: the webhook opens a new incident
    foreign: frozenset[EpisodeKey]  # its alerts other incidents hold; they stay there


def place(
    hook: GroupReport,
    match: SeriesMatch,
    latest_of_key: Incident | None,
    now: datetime,
    rules: Rules,
) -> Placement:
    """The incident this webhook belongs to, in the model's order of precedence: the one
    holding its episodes, the open one of its key, the open one firing any of its series,
    a recent one of its key to reopen; else a new one. A regrouping in Alertmanager can
    merge two groups: each episode stays where it is, so those alerts are `foreign`."""
    found = match.exact
    if found is None:
        # the newest incident of the key is the open one, when there is one
        if latest_of_key is not None and latest_of_key.is_open:
            found = latest_of_key.id
        elif match.open_firing is not None:
            found = match.open_firing
        elif latest_of_key is not None and can_reopen(latest_of_key, hook, now, rules):
            found = latest_of_key.id
    foreign = frozenset(key for key, holder in match.holders.items() if holder != found)
    return Placement(found, foreign)
