"""What the timeline already suggests for the fields only people fill. Pure.

A suggestion is never a conclusion: the draft shows it marked 待确认 and the review form
offers it prefilled, and it becomes a human field only once a person saves it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from receiver.domain.incident import EntryKind, TimelineEntry

# what people did to contain the incident (立即遏制), and to repair it (临时修复)
CONTAINMENT_KINDS = (EntryKind.RESTART, EntryKind.ROLLBACK, EntryKind.SCALE)
REPAIR_KINDS = (EntryKind.MITIGATE, EntryKind.FIX)


@dataclass(frozen=True, slots=True)
class Reported:
    """One thing a person reported: what they said, who, when, and as what."""

    text: str
    actor: str | None
    at: datetime
    kind: EntryKind


@dataclass(frozen=True, slots=True)
class Suggestions:
    owner: str  # the first acknowledger
    participants: tuple[str, ...]  # everyone named in the timeline, in order of appearance
    direct_cause: tuple[Reported, ...]  # root-cause reports
    containment: tuple[Reported, ...]  # restarts, rollbacks, scaling
    temporary_fix: tuple[Reported, ...]  # mitigations and fixes

    @property
    def any(self) -> bool:
        return bool(
            self.owner
            or self.participants
            or self.direct_cause
            or self.containment
            or self.temporary_fix
        )


def reported_text(entry: TimelineEntry) -> str:
    """What a person said in one event: the message, and its details if any."""
    if entry.detail and entry.note:
        return f"{entry.note}（{entry.detail}）"
    return entry.note or entry.detail


def suggest(timeline: Iterable[TimelineEntry]) -> Suggestions:
    ordered = sorted(timeline, key=lambda e: e.at)

    def of(kinds: Sequence[EntryKind]) -> tuple[Reported, ...]:
        return tuple(
            Reported(reported_text(e), e.actor, e.at, e.kind)
            for e in ordered
            if e.kind in kinds and reported_text(e)
        )

    return Suggestions(
        owner=next((e.actor for e in ordered if e.kind is EntryKind.ACK and e.actor), ""),
        participants=tuple(dict.fromkeys(e.actor for e in ordered if e.actor)),
        direct_cause=of((EntryKind.ROOT_CAUSE,)),
        containment=of(CONTAINMENT_KINDS),
        temporary_fix=of(REPAIR_KINDS),
    )
