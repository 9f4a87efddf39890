"""Calendar periods in the team's time zone, for 'this month' and 'this quarter' counts."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def month_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    local = moment.astimezone(zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start.astimezone(UTC), end.astimezone(UTC)


def quarter_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    local = moment.astimezone(zone)
    first_month = 3 * ((local.month - 1) // 3) + 1
    start = local.replace(month=first_month, day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if first_month == 10
        else start.replace(month=first_month + 3)
    )
    return start.astimezone(UTC), end.astimezone(UTC)
