"""The incident list page: its filters read from the query, and what its template reads."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from receiver.domain.incident import PRIORITY_ORDER, STATUS_VALUES, Incident, IncidentStatus
from receiver.web.pages.render import duration_text, local_time
from receiver.web.params import LIST_PAGE_SIZE


@dataclass(frozen=True, slots=True)
class ListFilters:
    """The list's filters; a value that names nothing is no filter, never an error page."""

    status: IncidentStatus | None
    service: str
    priority: str
    not_needed: bool = False  # the incidents the postmortem policy let go, listed apart

    @classmethod
    def of(cls, request: web.Request) -> ListFilters:
        query = request.query
        status = query.get("status", "")
        priority = query.get("priority", "")
        return cls(
            status=IncidentStatus(status) if status in STATUS_VALUES else None,
            service=query.get("service", "").replace("\x00", "").strip()[:200],
            priority=priority if priority in PRIORITY_ORDER else "",
            not_needed=query.get("postmortem") == "not_needed",
        )

    def shown(self) -> dict[str, str]:
        """As the form's values and the page links' query."""
        status = self.status.value if self.status else ""
        return {
            "status": status,
            "service": self.service,
            "priority": self.priority,
            "postmortem": "not_needed" if self.not_needed else "",
        }


def list_context(
    request: web.Request, filters: ListFilters, page: int, incidents: list[Incident], total: int
) -> dict[str, Any]:
    shown = filters.shown()

    def page_link(number: int) -> str:
        return "/?" + urlencode({**{k: v for k, v in shown.items() if v}, "page": number})

    pages = max(1, math.ceil(total / LIST_PAGE_SIZE))
    return {
        "rows": [
            {
                "incident": i,
                "start": local_time(request, i.started_at),
                "duration": duration_text(i),
            }
            for i in incidents
        ],
        "total": total,
        "filters": shown,
        "statuses": [s.value for s in IncidentStatus],
        "priorities": PRIORITY_ORDER,
        "page": page,
        "pages": pages,
        "previous": page_link(page - 1) if page > 1 else "",
        "next": page_link(page + 1) if page < pages else "",
        "not_needed": 0,  # how many are listed apart (counted by the handler)
    }
