"""Alertmanager silences as acknowledgements: who silenced an incident's alerts, and when. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from receiver.incidents import Change, EntryKind, Phase, Source, TimelineEntry
from receiver.text import Text


class Matcher(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    name: Text
    value: Text
    is_regex: bool = Field(default=False, alias="isRegex")
    is_equal: bool = Field(default=True, alias="isEqual")  # absent before Alertmanager 0.22

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.is_regex:
            try:
                # Alertmanager anchors its RE2 expressions; Python's syntax is close enough
                hit = re.fullmatch(self.value, actual) is not None
            except re.error:
                return False
        else:
            hit = actual == self.value
        return hit == self.is_equal


class SilenceStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    state: str


class Silence(BaseModel):
    """A silence as `GET /api/v2/silences` returns it."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    id: Text
    matchers: list[Matcher]
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime = Field(alias="endsAt")
    created_by: Text = Field(default="", alias="createdBy")
    comment: Text = ""
    status: SilenceStatus

    def matches(self, labels: Mapping[str, str]) -> bool:
        return bool(self.matchers) and all(m.matches(labels) for m in self.matchers)


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
