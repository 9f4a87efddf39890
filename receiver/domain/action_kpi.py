"""The KPI page's action item figures (issue 21), per service and for all: open,
overdue, the median days from an item's creation to done, and the share of items with
a due date that were done by it. Pure: the caller passes today and the zone."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from receiver.domain.action_items import ItemStatus, is_overdue
from receiver.domain.moments import in_zone

ALL_SERVICES = ""


@dataclass(frozen=True, slots=True)
class ItemRecord:
    service: str
    status: ItemStatus
    due: date | None
    created_at: datetime
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class ActionFigures:
    service: str  # ALL_SERVICES for every service together
    open: int
    overdue: int
    done: int
    median_days_to_done: float | None  # None: nothing done yet
    done_with_due: int  # done items that had a due date
    done_by_due: int  # of those, done on or before it (the team's date)

    @property
    def share_done_by_due(self) -> float | None:
        return None if not self.done_with_due else self.done_by_due / self.done_with_due


def action_figures(
    records: Iterable[ItemRecord], today: date, zone: ZoneInfo
) -> tuple[ActionFigures, ...]:
    """All services first, then each service by name; dropped items count nowhere."""
    kept = [r for r in records if r.status is not ItemStatus.DROPPED]
    services = sorted({r.service for r in kept})
    return (
        _figures(ALL_SERVICES, kept, today, zone),
        *(_figures(s, [r for r in kept if r.service == s], today, zone) for s in services),
    )


def _figures(
    service: str, records: Sequence[ItemRecord], today: date, zone: ZoneInfo
) -> ActionFigures:
    done = [r for r in records if r.status is ItemStatus.DONE and r.done_at is not None]
    days = [max((r.done_at - r.created_at).total_seconds(), 0) / 86400 for r in done if r.done_at]
    with_due = [r for r in done if r.due is not None and r.done_at is not None]
    by_due = [
        r for r in with_due if r.done_at and r.due and in_zone(r.done_at, zone).date() <= r.due
    ]
    return ActionFigures(
        service=service,
        open=sum(1 for r in records if r.status is ItemStatus.OPEN),
        overdue=sum(1 for r in records if is_overdue(r.due, r.status, today)),
        done=len(done),
        median_days_to_done=round(statistics.median(days), 1) if days else None,
        done_with_due=len(with_due),
        done_by_due=len(by_due),
    )
