"""The span of times the receiver accepts, and any stored time shown in a zone without
failing. Pure: no clock.

Python's calendar ends at years 1 and 9999. An alert dated 9999-12-31T20:00Z is a valid
RFC 3339 time, but in Asia/Shanghai it is already year 10000: shown on a page, in the
draft or in a chat message, it failed every time, so its resolve answered 500 on every
retry. Times are therefore accepted only well inside the calendar (monitoring runs on
Unix time, so nothing real is older than 1970), with centuries to spare for any zone's
offset and every margin the receiver adds (evidence windows, calendar quarters). Times
stored before this check are still shown, in UTC when the zone would leave the calendar.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final

EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
END: Final = datetime(9000, 1, 1, tzinfo=UTC)  # the first time no longer accepted
ACCEPTED_SPAN: Final = (
    "give a time from 1970-01-01T00:00:00Z up to (not including) 9000-01-01T00:00:00Z"
)


def accepted(moment: datetime) -> datetime:
    """The aware `moment` in UTC; ValueError naming the accepted span when outside it."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # its offset takes it past the calendar's ends
        utc = None
    if utc is None or not EARLIEST <= utc < END:
        raise ValueError(f"the time {moment.isoformat()} is out of range: {ACCEPTED_SPAN}")
    return utc


def in_zone(moment: datetime, zone: tzinfo) -> datetime:
    """The moment on the zone's clock; as it was stored when the zone's offset would take
    it past the calendar's ends (only a time stored before `accepted` existed)."""
    try:
        return moment.astimezone(zone)
    except (OverflowError, ValueError):
        return moment


def shifted(moment: datetime, delta: timedelta) -> datetime:
    """moment + delta, held at the calendar's ends rather than past them."""
    try:
        return moment + delta
    except OverflowError:
        edge = datetime.max if delta > timedelta(0) else datetime.min
        return edge.replace(tzinfo=moment.tzinfo)
