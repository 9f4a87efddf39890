"""The KPI page's and API's filters from the query: a service, how many months, up to
which month. A bad value is a 422 that says, in the receiver's language, what to give."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from receiver.domain.kpi import MAX_MONTHS
from receiver.web.errors import ApiError
from receiver.web.keys import SETTINGS
from receiver.web.pages.kpi_text import KPI_TEXT
from receiver.web.params import MONTHS, bounded_int

DEFAULT_MONTHS: Final = 6
_MONTH = re.compile(r"(\d{4})-(\d{2})")
# the span of times the receiver accepts (receiver.domain.moments), whole months
_FIRST_YEAR, _LAST_YEAR = 1970, 8999


@dataclass(frozen=True, slots=True)
class KpiFilters:
    service: str | None
    months: int
    until: tuple[int, int] | None  # (year, month); None: this month

    @classmethod
    def of(cls, request: web.Request) -> KpiFilters:
        text = KPI_TEXT[request.app[SETTINGS].language]
        query = request.query
        months = DEFAULT_MONTHS
        if "months" in query:
            parsed = bounded_int(query["months"], MONTHS.low, MONTHS.high)
            if parsed is None:
                raise _invalid("months", text["bad_months"].format(max=MAX_MONTHS), query)
            months = parsed
        until = None
        if query.get("until"):
            until = _month(query["until"])
            if until is None:
                raise _invalid("until", text["bad_until"], query)
        service = query.get("service") or None
        if service is not None and "\x00" in service:
            raise _invalid("service", text["bad_service"], query)
        return cls(service, months, until)

    def shown(self) -> dict[str, str]:
        """As the form's values and the links' query."""
        until = f"{self.until[0]:04d}-{self.until[1]:02d}" if self.until else ""
        return {"service": self.service or "", "months": str(self.months), "until": until}


def _month(raw: str) -> tuple[int, int] | None:
    match = _MONTH.fullmatch(raw)
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (_FIRST_YEAR <= year <= _LAST_YEAR and 1 <= month <= 12):
        return None
    return year, month


def _invalid(name: str, message: str, query: Mapping[str, str]) -> ApiError:
    raw = str(query.get(name, ""))
    return ApiError(
        422, "invalid_query", message, [{"field": name, "message": f"got {raw[:40]!r}"}]
    )
