"""`--since` of `incidents list`: a moment with its zone, a date in the receiver's zone,
or how long ago; resolved once the settings (the zone) are known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from receiver.units import parse_duration


@dataclass(frozen=True, slots=True)
class Since:
    moment: datetime | None = None  # with its zone
    day: date | None = None  # from midnight in the receiver's zone
    ago: timedelta | None = None  # before now

    def start(self, zone: tzinfo, now: datetime) -> datetime:
        if self.moment is not None:
            return self.moment
        if self.day is not None:
            return datetime.combine(self.day, time(), zone)
        assert self.ago is not None
        return now - self.ago


def parse_since(text: str) -> Since | None:
    """None when `text` is none of the three (a bare number is none: seconds or days?)."""
    text = text.strip()
    try:
        return Since(day=date.fromisoformat(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        moment = None
    if moment is not None:
        return Since(moment=moment) if moment.tzinfo is not None else None
    if not text or text.replace(".", "", 1).isdigit():
        return None
    try:
        return Since(ago=parse_duration(text))
    except ValueError:
        return None
