"""Recurrence (issue 21): which past incidents a new one repeats, and why. Pure: the
caller loads the candidates; the reasons are named so pages and drafts can say them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from receiver.domain.action_items import TrackedItem

LINKED = 3  # how many past incidents an incident links: the last three


class MatchReason(StrEnum):
    SAME_KEY = "same_key"  # the same alert group (incident key)
    SAME_ALERT = "same_alertname_service"  # the same alertname on the same service


@dataclass(frozen=True, slots=True)
class IncidentSketch:
    """What matching reads of an incident."""

    id: int
    key: str
    alertname: str  # "" when the incident has none (a manual post)
    service: str
    started_at: datetime
    ended_at: datetime | None = None
    status: str = ""
    open_actions: int = 0  # its 行动计划 items still open


@dataclass(frozen=True, slots=True)
class Recurrence:
    past: IncidentSketch
    reason: MatchReason


def match_reason(current: IncidentSketch, past: IncidentSketch) -> MatchReason | None:
    if past.key == current.key:
        return MatchReason.SAME_KEY
    if (
        current.alertname
        and current.service
        and (past.alertname, past.service)
        == (
            current.alertname,
            current.service,
        )
    ):
        return MatchReason.SAME_ALERT
    return None


def similar_incidents(
    current: IncidentSketch, candidates: Iterable[IncidentSketch], limit: int = LINKED
) -> list[Recurrence]:
    """The last `limit` incidents that began before `current` and match it, newest first."""
    found = [
        Recurrence(past, reason)
        for past in candidates
        if past.id != current.id
        and past.started_at < current.started_at
        and (reason := match_reason(current, past)) is not None
    ]
    found.sort(key=lambda r: (r.past.started_at, r.past.id), reverse=True)
    return found[:limit]


def mean_time_between(current_start: datetime, linked: Sequence[Recurrence]) -> timedelta | None:
    """MTBF over the linked incidents and this one: the mean time from one's end to the
    next one's start. None when no linked incident has an end to measure from."""
    chain = sorted((r.past for r in linked), key=lambda p: p.started_at)
    if not chain:
        return None
    starts = [p.started_at for p in chain[1:]] + [current_start]
    gaps = [
        start - past.ended_at
        for past, start in zip(chain, starts, strict=True)
        if past.ended_at is not None and start >= past.ended_at
    ]
    if not gaps:
        return None
    return sum(gaps, timedelta(0)) / len(gaps)


@dataclass(frozen=True, slots=True)
class Similar:
    """What an incident shows of its past: the linked incidents, the items they left
    open (possibly related: to be confirmed, never a conclusion) and the MTBF."""

    linked: tuple[Recurrence, ...] = ()
    open_items: tuple[TrackedItem, ...] = ()
    mtbf: timedelta | None = None


def similar(
    current: IncidentSketch,
    candidates: Iterable[IncidentSketch],
    open_items: Iterable[TrackedItem],
) -> Similar:
    """The linked incidents, with the open items of those only."""
    linked = similar_incidents(current, candidates)
    ids = {r.past.id for r in linked}
    return Similar(
        linked=tuple(linked),
        open_items=tuple(i for i in open_items if i.incident_id in ids),
        mtbf=mean_time_between(current.started_at, linked),
    )


def alertname_of(group_labels: Mapping[str, str], common_labels: Mapping[str, str]) -> str:
    return common_labels.get("alertname") or group_labels.get("alertname") or ""
