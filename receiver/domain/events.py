"""Manual events — what people did — as rows of the incident's timeline. Pure."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from receiver.domain.incident import (
    PRIORITY_LABEL,
    Change,
    EntryKind,
    Incident,
    IncidentState,
    IncidentStatus,
    Phase,
    Rules,
    Source,
    TimelineEntry,
    priority_of,
)
from receiver.domain.lifecycle import recover


class EventType(StrEnum):
    SYSTEM_ALERT = "system-alert"
    ACK = "ack"
    ASSEMBLE = "assemble"
    RESTART = "restart"
    ROLLBACK = "rollback"
    SCALE = "scale"
    ROOT_CAUSE = "root-cause"
    MITIGATE = "mitigate"
    FIX = "fix"
    VERIFY = "verify"
    MONITOR_OK = "monitor-ok"
    NOTIFY_USERS = "notify-users"
    RESOLVE = "resolve"
    NOTE = "note"


# Each event type's row in the draft: its kind (the template's step) and its phase.
EVENT_ROWS: dict[EventType, tuple[EntryKind, Phase]] = {
    EventType.SYSTEM_ALERT: (EntryKind.MANUAL_ALERT, Phase.DETECT),
    EventType.ACK: (EntryKind.ACK, Phase.DETECT),
    EventType.ASSEMBLE: (EntryKind.ASSEMBLE, Phase.DETECT),
    EventType.RESTART: (EntryKind.RESTART, Phase.HANDLE),
    EventType.ROLLBACK: (EntryKind.ROLLBACK, Phase.HANDLE),
    EventType.SCALE: (EntryKind.SCALE, Phase.HANDLE),
    EventType.ROOT_CAUSE: (EntryKind.ROOT_CAUSE, Phase.HANDLE),
    EventType.MITIGATE: (EntryKind.MITIGATE, Phase.HANDLE),
    EventType.FIX: (EntryKind.FIX, Phase.HANDLE),
    EventType.NOTE: (EntryKind.NOTE, Phase.HANDLE),
    EventType.VERIFY: (EntryKind.VERIFY, Phase.RECOVER),
    EventType.MONITOR_OK: (EntryKind.MONITOR_OK, Phase.RECOVER),
    EventType.NOTIFY_USERS: (EntryKind.NOTIFY_USERS, Phase.RECOVER),
    EventType.RESOLVE: (EntryKind.RESOLVE, Phase.RECOVER),
}


class EventReport(Protocol):
    """What the domain reads of a person's event."""

    @property
    def type(self) -> EventType: ...
    @property
    def service(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def details(self) -> str: ...
    @property
    def at(self) -> datetime | None: ...


def event_dedup_key(idempotency_key: str | None, raw_body: str, received_at: datetime) -> str:
    """The event's timeline key. Without an idempotency key the event is itself at its
    receipt time: replaying the inbox finds the same key, a later identical post does not."""
    if idempotency_key:
        return f"event:{idempotency_key}"
    digest = hashlib.sha256(f"{received_at.isoformat()}\x00{raw_body}".encode()).hexdigest()
    return f"event:{digest[:32]}"


def manual_key(service: str) -> str:
    return hashlib.sha256(f"manual\x00{service}".encode()).hexdigest()[:32]


def open_manual_incident(event: EventReport, now: datetime, rules: Rules) -> Change:
    """`system-alert` with no open incident for the service: a person opens one."""
    at = event.at or now
    labels = {"service": event.service, "severity": event.severity}
    if PRIORITY_LABEL.fullmatch(event.severity):
        labels["priority"] = event.severity  # `alert-webhook.sh … P1 …` names the level itself
    incident = Incident(
        key=manual_key(event.service),
        receiver="manual",
        group_key=f"manual:{event.service}",
        group_labels={"service": event.service},
        common_labels=labels,
        common_annotations={"summary": event.message},
        external_url="",
        title=event.message,
        priority=priority_of(labels, rules).priority,
        status=IncidentStatus.FIRING,
        opened_at=now,
        started_at=at,
        ended_at=None,
        updated_at=now,
        service=event.service,
    )
    change = Change(state=IncidentState(incident=incident), created=True)
    change.add_entry(
        TimelineEntry(
            at=at,
            phase=Phase.DETECT,
            kind=EntryKind.INCIDENT_OPENED,
            source=Source.MANUAL,
            dedup_key="opened",
            actor=event.actor,
        )
    )
    return change


def apply_event(change: Change, event: EventReport, dedup_key: str, now: datetime) -> Change:
    """Record the event as a row in its phase; `resolve` ends an incident with no firing alert.

    An incident whose alerts still fire stays open: alerts, not people, decide that.
    """
    kind, phase = EVENT_ROWS[event.type]
    at = event.at or now
    change.add_entry(
        TimelineEntry(
            at=at,
            phase=phase,
            kind=kind,
            source=Source.MANUAL,
            dedup_key=dedup_key,
            actor=event.actor,
            subject=event.type.value,
            note=event.message,
            detail=event.details,
        )
    )
    incident = change.state.incident
    if change.new_entries:
        incident.updated_at = now
    firing = any(not episode.resolved for episode in change.state.episodes.values())
    if event.type is EventType.RESOLVE and incident.is_open and not firing:
        recover(change, now, ended=at, all_resolved_row=bool(change.state.episodes))
    return change
