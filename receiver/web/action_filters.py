"""The actions page's and API's filters from the query: owner, service, status, overdue.
A bad value is a 422 that says, in the receiver's language, what to give."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from aiohttp import web

from receiver.domain.action_items import ItemStatus
from receiver.store.action_items import ItemFilter
from receiver.web.errors import ApiError
from receiver.web.keys import SETTINGS
from receiver.web.pages.ui_text import UI

_TRUE, _FALSE = ("1", "true", "on"), ("", "0", "false")
_MAX_TEXT = 500


@dataclass(frozen=True, slots=True)
class ActionFilters:
    owner: str = ""
    service: str = ""
    status: ItemStatus | None = None
    overdue: bool = False

    @classmethod
    def of(cls, request: web.Request) -> ActionFilters:
        return cls.parse(request.query, request.app[SETTINGS].language)

    @classmethod
    def parse(cls, query: Mapping[str, str], language: str) -> ActionFilters:
        text = UI[language]
        owner, service = (_text(query.get(name, ""), name, text) for name in ("owner", "service"))
        status = None
        raw_status = query.get("status", "")
        if raw_status:
            if raw_status not in {s.value for s in ItemStatus}:
                raise _invalid("status", text["bad_item_status"], raw_status)
            status = ItemStatus(raw_status)
        raw_overdue = query.get("overdue", "").lower()
        if raw_overdue not in _TRUE + _FALSE:
            raise _invalid("overdue", text["bad_overdue"], raw_overdue)
        return cls(owner, service, status, raw_overdue in _TRUE)

    def wanted(self, today: date) -> ItemFilter:
        return ItemFilter(
            owner=self.owner,
            service=self.service,
            status=self.status,
            overdue_before=today if self.overdue else None,
        )

    def shown(self) -> dict[str, str]:
        """As the form's values and the CSV link's query."""
        return {
            "owner": self.owner,
            "service": self.service,
            "status": self.status.value if self.status else "",
            "overdue": "1" if self.overdue else "",
        }


def _text(raw: str, name: str, text: dict[str, str]) -> str:
    value = raw.strip()
    if len(value) > _MAX_TEXT or "\x00" in value:
        raise _invalid(name, text["bad_filter_text"].format(name=name), raw)
    return value


def _invalid(name: str, message: str, raw: str) -> ApiError:
    return ApiError(
        422, "invalid_query", message, [{"field": name, "message": f"got {raw[:40]!r}"}]
    )
