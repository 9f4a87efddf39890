"""Calendar periods in the team's time zone, for 'this month' and 'this quarter' counts."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


def _next(start: datetime, month: int) -> datetime:
    """The first day of `month` after `start` (month 13 is next January)."""
    try:
        if month > 12:
            return start.replace(year=start.year + 1, month=month - 12).astimezone(UTC)
        return start.replace(month=month).astimezone(UTC)
    except (ValueError, OverflowError):
        return _END_OF_TIME  # the calendar ends in year 9999


def month_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    local = moment.astimezone(zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC), _next(start, start.month + 1)


def quarter_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    local = moment.astimezone(zone)
    first_month = 3 * ((local.month - 1) // 3) + 1
    start = local.replace(month=first_month, day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC), _next(start, first_month + 3)
