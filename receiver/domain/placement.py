"""Which incident a webhook joins. Pure: the store finds the candidates, this decides."""

from __future__ import annotations

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
