"""Integers in paths and queries: every one is parsed here, range-checked before int() or
the database sees it.

A value of thousands of digits would pass a digit check and then fail int() (Python
reads at most 4,300 digits) as a 500; 2^64 would reach PostgreSQL, whose overflow error
looks like an outage (503). Counting the digits first and comparing with the column's
range turns both into the 4xx the value deserves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from receiver.domain.kpi import MAX_MONTHS
from receiver.evidence.view import MAX_CHARTS
from receiver.web.errors import ApiError

# ids and revisions are 32-bit integer columns on PostgreSQL
MAX_ID: Final = 2**31 - 1
MAX_PAGE: Final = 500
MAX_OFFSET: Final = 10**9
LIST_PAGE_SIZE: Final = 50  # incidents on one list page


def bounded_int(raw: str, low: int, high: int) -> int | None:
    """The ASCII decimal `raw` if it lies in [low, high], else None.

    No sign, space or non-ASCII digit (int() takes '٣'); leading zeros are fine.
    """
    if not (raw.isascii() and raw.isdigit()):
        return None
    significant = raw.lstrip("0") or "0"
    if len(significant) > len(str(high)):
        return None
    value = int(significant)
    return value if low <= value <= high else None


@dataclass(frozen=True, slots=True)
class IntParam:
    """One integer a path or query carries, with the range its handler accepts."""

    name: str
    low: int
    high: int
    noun: str = ""  # what a path value names, for its 404

    def query(self, request: web.Request, default: int) -> int:
        """From the query string; `default` when absent, 422 when not in range."""
        raw = request.query.get(self.name)
        if raw is None:
            return default
        value = bounded_int(raw, self.low, self.high)
        if value is None:
            raise ApiError(
                422,
                "invalid_query",
                f"{self.name} must be an integer from {self.low} to {self.high}",
                [{"field": self.name, "message": f"got {raw[:40]!r}"}],
            )
        return value

    def path(self, request: web.Request) -> int:
        """From the path; a value out of range names nothing there is: 404."""
        raw = request.match_info[self.name]
        value = bounded_int(raw, self.low, self.high)
        if value is None:
            raise ApiError(404, "not_found", f"no {self.noun or self.name} {raw[:40]}")
        return value

    def schema(self, **extra: Any) -> dict[str, Any]:
        """The OpenAPI schema of the accepted values."""
        return {"type": "integer", "minimum": self.low, "maximum": self.high, **extra}


# Each integer a route reads, declared once: the handlers, the OpenAPI document and the
# tests (which send every one of them to every route) share these ranges.
LIMIT: Final = IntParam("limit", 1, MAX_PAGE)
OFFSET: Final = IntParam("offset", 0, MAX_OFFSET)
PAGE: Final = IntParam("page", 1, MAX_OFFSET // LIST_PAGE_SIZE)
REVISION: Final = IntParam("revision", 1, MAX_ID)
FROM_REVISION: Final = IntParam("from", 1, MAX_ID)
TO_REVISION: Final = IntParam("to", 1, MAX_ID)
INCIDENT_ID: Final = IntParam("incident_id", 1, MAX_ID, "incident with id")
CHART: Final = IntParam("number", 1, MAX_CHARTS, "chart")
MONTHS: Final = IntParam("months", 1, MAX_MONTHS)  # the KPI page's range
INBOX_ID: Final = IntParam("inbox_id", 1, MAX_ID, "inbox entry")
CHANGE: Final = IntParam("change_id", 1, MAX_ID, "change with id")
DECLARED: Final = (
    LIMIT,
    OFFSET,
    PAGE,
    REVISION,
    FROM_REVISION,
    TO_REVISION,
    INCIDENT_ID,
    CHART,
    MONTHS,
    INBOX_ID,
    CHANGE,
)


def incident_id_of(request: web.Request) -> int:
    """The {incident_id} of the path; 404 for one no incident can have."""
    return INCIDENT_ID.path(request)
