"""Manual events — what people did — as alert-webhook.sh and the API post them. Pure."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from receiver.incidents import (
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
    recover,
)
from receiver.moments import accepted
from receiver.text import Details, Key, Message, Name, Short


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


class ManualEvent(BaseModel):
    """One event as posted (form fields or JSON)."""

    # Message and details keep their edges: people's text arrives as it was written.
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: EventType
    service: Name
    message: Message
    actor: Name
    severity: Short = ""
    details: Details = ""
    incident_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    idempotency_key: Key | None = None
    at: datetime | None = None

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-11-26T14:20:44+08:00")
        return accepted(value)

    @property
    def row(self) -> tuple[EntryKind, Phase]:
        return EVENT_ROWS[self.type]


def manual_key(service: str) -> str:
    return hashlib.sha256(f"manual\x00{service}".encode()).hexdigest()[:32]


def open_manual_incident(event: ManualEvent, now: datetime, rules: Rules) -> Change:
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


def apply_event(change: Change, event: ManualEvent, dedup_key: str, now: datetime) -> Change:
    """Record the event as a row in its phase; `resolve` ends an incident with no firing alert.

    An incident whose alerts still fire stays open: alerts, not people, decide that.
    """
    kind, phase = event.row
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
