"""Alertmanager silences as acknowledgements: who silenced an incident's alerts, and when. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from receiver.alertmanager.silences import Silence
from receiver.incidents import Change, EntryKind, Phase, Source, TimelineEntry


def acknowledge_from_silences(change: Change, silences: Iterable[Silence]) -> Change:
    """One `事故确认` row per silence (active or already expired) that was created after
    the incident started and matches one of its firing alerts; the silence's author acks."""
    state = change.state
    incident = state.incident
    firing = [e.labels for e in state.episodes.values() if not e.resolved]
    for silence in silences:
        if silence.status.state == "pending" or silence.starts_at < incident.started_at:
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
