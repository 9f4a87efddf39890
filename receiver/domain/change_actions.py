"""Rollbacks and scaling made during an incident, as rows of its 处理阶段. Pure.

A change feed often tells of a rollback or scale-out before (or instead of) a person
reporting it. Such a change becomes a row of its own (故障三板斧 - 回滚 / 扩容) with the
change's actor — unless a person already reported the same action.

Only a scale-out is a 扩容 row: a scale change whose versions are replica counts going
up, or whose summary says "scaled up" (Kubernetes' own words). A scale-down, or one
whose direction is unknown, stays in 变更记录 only: the draft never calls it 扩容.

The rule for "the same action": a person's row of the same kind (rollback, scale) within
SAME_ACTION of the change's start. Then the person's row stands alone: it carries their
words, and the change stays listed in 变更记录.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from receiver.domain.changes import ChangeType, ServiceChange
from receiver.domain.incident import EntryKind, Phase, Source, TimelineEntry
from receiver.domain.suspects import Suspect, Verdict

SAME_ACTION = timedelta(minutes=15)
ACTION_KINDS = {ChangeType.ROLLBACK: EntryKind.ROLLBACK, ChangeType.SCALE: EntryKind.SCALE}


def scaled_out(change: ServiceChange) -> bool:
    before, after = change.from_version or "", change.to_version or ""
    if before.isdigit() and after.isdigit():
        return int(after) > int(before)
    return "scaled up" in change.summary.lower()


def change_action_rows(
    suspects: Iterable[Suspect], timeline: Sequence[TimelineEntry]
) -> list[TimelineEntry]:
    """A 处理阶段 row for each rollback or scale change made after the first alert (and
    before recovery: the suspects are already limited to the incident's window), unless
    a person marked it unrelated or reported the same action."""
    rows = []
    for suspect in suspects:
        change = suspect.change
        kind = ACTION_KINDS.get(change.type)
        if kind is None or suspect.before_first_alert:
            continue
        if change.type is ChangeType.SCALE and not scaled_out(change):
            continue
        if suspect.verdict is not None and suspect.verdict.verdict is Verdict.UNRELATED:
            continue
        reported = any(
            entry.kind is kind
            and entry.source is not Source.CHANGE
            and abs(entry.at - change.started_at) <= SAME_ACTION
            for entry in timeline
        )
        if reported:
            continue
        versions = " → ".join(v for v in (change.from_version, change.to_version) if v)
        rows.append(
            TimelineEntry(
                at=change.started_at,
                phase=Phase.HANDLE,
                kind=kind,
                source=Source.CHANGE,
                dedup_key=f"change:{change.source.value}:{change.source_id}",
                actor=change.actor,
                subject=change.service,
                note=change.summary,
                detail=versions,
            )
        )
    return rows
