"""Earlier incidents as the draft's KPI section counts them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class History:
    """What the draft's KPI section needs from earlier incidents."""

    previous_end: datetime | None  # end of the previous incident with the same key
    # earlier ones of the month and this one: the draft says "本月第 N 次（含本次）"
    service_incidents_in_month: int
    service_p0_p1_in_quarter: int  # likewise, this one included when it is P0/P1
