"""Calendar periods in the team's time zone, for 'this month' and 'this quarter' counts."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from receiver.domain.moments import in_zone

_START_OF_TIME = datetime.min.replace(tzinfo=UTC)
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


def _next(start: datetime, month: int) -> datetime:
    """The first day of `month` after `start` (month 13 is next January)."""
    try:
        if month > 12:
            return start.replace(year=start.year + 1, month=month - 12).astimezone(UTC)
        return start.replace(month=month).astimezone(UTC)
    except (ValueError, OverflowError):
        return _END_OF_TIME  # the calendar ends in year 9999


def _utc(start: datetime) -> datetime:
    try:
        return start.astimezone(UTC)
    except OverflowError:
        return _START_OF_TIME  # the calendar starts in year 1


def month_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    local = in_zone(moment, zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return _utc(start), _next(start, start.month + 1)


def quarter_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    local = in_zone(moment, zone)
    first_month = 3 * ((local.month - 1) // 3) + 1
    start = local.replace(month=first_month, day=1, hour=0, minute=0, second=0, microsecond=0)
    return _utc(start), _next(start, first_month + 3)
