"""Which action items to remind about today, and when the weekly digest is due (issue 21).
Pure: the caller passes today's date in the team's zone. Each reminder has a key; the
store keeps the keys already queued, so one (item, day) or (channel, week) goes out once
however many replicas look."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from receiver.domain.action_items import ItemStatus, TrackedItem, is_overdue


class ReminderKind(StrEnum):
    DUE_SOON = "due_soon"  # due within the configured days (today included)
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Reminder:
    item: TrackedItem
    kind: ReminderKind
    key: str  # once per item and day


def reminders_due(items: Iterable[TrackedItem], today: date, within_days: int) -> list[Reminder]:
    """Open items due within `within_days` or already overdue, soonest due first."""
    found = []
    for item in items:
        if item.status is not ItemStatus.OPEN or item.due is None:
            continue
        if is_overdue(item.due, item.status, today):
            kind = ReminderKind.OVERDUE
        elif item.due <= today + timedelta(days=within_days):
            kind = ReminderKind.DUE_SOON
        else:
            continue
        found.append(Reminder(item, kind, f"item:{item.id}:{today.isoformat()}"))
    return sorted(found, key=lambda r: (r.item.due or today, r.item.id))


def digest_key(channel: str, today: date, weekday: int) -> str | None:
    """The key of this ISO week's digest for `channel`, once its day (1 = Monday … 7) has
    come; None before it, or when digests are off (weekday 0). A receiver that was down
    on the day still sends that week's digest later in the week."""
    if weekday == 0 or today.isoweekday() < weekday:
        return None
    year, week, _ = today.isocalendar()
    return f"digest:{channel}:{year}-W{week:02d}"
