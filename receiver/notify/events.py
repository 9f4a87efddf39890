"""What an incident's change is worth telling people about (pure: no I/O)."""

from __future__ import annotations

from datetime import datetime

from receiver.config.notify import NotifyEvent
from receiver.domain.incident import Change, EntryKind, IncidentStatus


def events_of(change: Change, now: datetime, new_draft_revision: int | None) -> list[NotifyEvent]:
    """The events this change brought, in the order they happened.

    `new_draft_revision` is the number of a draft revision this change wrote (not a
    refresh of the current one), or None.
    """
    incident = change.state.incident
    events: list[NotifyEvent] = []
    if change.created or change.reopened:
        events.append(NotifyEvent.OPENED)
    if change.first_ack_at is not None:
        events.append(NotifyEvent.ACKNOWLEDGED)
    if any(entry.kind is EntryKind.STALE for entry in change.new_entries):
        events.append(NotifyEvent.STALE)
    if new_draft_revision == 1:
        events.append(NotifyEvent.DRAFT_WRITTEN)
    elif new_draft_revision is not None:
        events.append(NotifyEvent.DRAFT_REVISED)
    if incident.status is IncidentStatus.APPROVED and incident.approved_at == now:
        events.append(NotifyEvent.APPROVED)
    return events
