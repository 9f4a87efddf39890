"""Alertmanager silences read as acknowledgements: who silenced an incident's alerts, and
when. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from receiver.domain.incident import Change, EntryKind, Phase, Source, TimelineEntry


class SilenceReport(Protocol):
    """What the domain reads of a silence."""

    @property
    def id(self) -> str: ...
    @property
    def state(self) -> str: ...  # "pending" | "active" | "expired"
    @property
    def starts_at(self) -> datetime: ...
    @property
    def created_by(self) -> str: ...
    @property
    def comment(self) -> str: ...

    def matches(self, labels: Mapping[str, str]) -> bool: ...


def acknowledge_from_silences(change: Change, silences: Iterable[SilenceReport]) -> Change:
    """One `事故确认` row per silence (active or already expired) that was created after
    the incident started and matches one of its firing alerts; the silence's author acks."""
    state = change.state
    incident = state.incident
    firing = [e.labels for e in state.episodes.values() if not e.resolved]
    for silence in silences:
        if silence.state == "pending" or silence.starts_at < incident.started_at:
            continue
        if not any(silence.matches(labels) for labels in firing):
            continue
        change.add_entry(
            TimelineEntry(
                at=silence.starts_at,
                phase=Phase.DETECT,
                kind=EntryKind.ACK,
                source=Source.SILENCE,
                dedup_key=f"silence:{silence.id}",
                actor=silence.created_by or None,
                subject=silence.id,
                note=silence.comment,
            )
        )
    return change
