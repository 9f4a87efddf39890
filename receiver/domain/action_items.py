"""Action items as tracked things (issue 21): the 行动计划 and 改进措施 entries that have an
owner, each with a stable id, a status (open / done / dropped with a reason) and an
optional ticket. Pure: the caller passes new ids and today's date."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from receiver.domain.review import HumanFields

ITEM_LISTS = ("actions", "improvements")  # the HumanFields lists that hold items
MAX_DROP_REASON = 500


class ItemStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class ItemNotFound(Exception):
    """No tracked item with this id."""


class DropReasonMissing(ValueError):
    """An item is dropped only with a reason."""


@dataclass(frozen=True, slots=True)
class TrackedItem:
    """One item as the tracker stores it."""

    id: str
    incident_id: int
    list_name: str  # "actions" (行动计划) or "improvements" (改进措施)
    kind: str  # its subsection: the horizon (immediate/short/long) or the area
    position: int
    text: str
    owner: str
    due: date | None
    status: ItemStatus
    reason: str  # why it was dropped
    ticket: str
    priority: str = ""  # an ItemPriority value, or "" when unset


def status_of(item: Any) -> ItemStatus:
    if item.dropped:
        return ItemStatus.DROPPED
    return ItemStatus.DONE if item.done else ItemStatus.OPEN


def is_overdue(due: date | None, status: ItemStatus, today: date) -> bool:
    return status is ItemStatus.OPEN and due is not None and due < today


def tracked(incident_id: int, fields: HumanFields) -> list[TrackedItem]:
    """The items the tracker follows: every one with an owner (and an id)."""
    found: list[TrackedItem] = []
    for list_name in ITEM_LISTS:
        for position, item in enumerate(getattr(fields, list_name)):
            if not item.owner or not item.id:
                continue
            kind = item.horizon.value if list_name == "actions" else item.area.value
            found.append(
                TrackedItem(
                    id=item.id,
                    incident_id=incident_id,
                    list_name=list_name,
                    kind=kind,
                    position=position,
                    text=item.text,
                    owner=item.owner,
                    due=item.due,
                    status=status_of(item),
                    reason=item.dropped,
                    ticket=item.ticket,
                    priority=item.priority.value if item.priority else "",
                )
            )
    return found


def with_ids(before: HumanFields, after: HumanFields, new_id: Callable[[], str]) -> HumanFields:
    """`after` with every item given a stable id. An id the incident already had stays
    (a renamed or moved item is the same item); an item sent without one takes the id of
    an earlier item with the same text, else a new one. An id this incident never had is
    not trusted (it could name another incident's item): the item gets a new one."""
    known = {item.id: item for name in ITEM_LISTS for item in getattr(before, name) if item.id}
    by_text: dict[tuple[str, str], list[str]] = {}
    for name in ITEM_LISTS:
        for item in getattr(before, name):
            if item.id:
                by_text.setdefault((name, item.text), []).append(item.id)
    used: set[str] = set()
    patch: dict[str, object] = {}
    for name in ITEM_LISTS:
        items = []
        for item in getattr(after, name):
            given = item.id if item.id in known and item.id not in used else ""
            if not given:
                given = next((i for i in by_text.get((name, item.text), []) if i not in used), "")
            if not given or given in used:
                given = _fresh(new_id, used | set(known))
            used.add(given)
            items.append(item.model_copy(update={"id": given}))
        patch[name] = [i.model_dump() for i in items]
    return after.merged(patch)


def _fresh(new_id: Callable[[], str], taken: set[str]) -> str:
    while True:
        candidate = new_id()
        if candidate not in taken:
            return candidate


def with_status(
    fields: HumanFields, item_id: str, status: ItemStatus, reason: str = ""
) -> HumanFields:
    """The fields with one item's status changed: the same change whether it is made on
    the actions page or in the incident's form."""
    reason = reason.strip()
    if status is ItemStatus.DROPPED and not reason:
        raise DropReasonMissing("an item is dropped only with a reason")
    for name in ITEM_LISTS:
        items = list(getattr(fields, name))
        for index, item in enumerate(items):
            if item.id != item_id:
                continue
            items[index] = item.model_copy(
                update={
                    "done": status is ItemStatus.DONE,
                    "dropped": reason[:MAX_DROP_REASON] if status is ItemStatus.DROPPED else "",
                }
            )
            return fields.merged({name: [i.model_dump() for i in items]})
    raise ItemNotFound(f"no action item {item_id!r}")


def open_count(items: Iterable[TrackedItem]) -> int:
    return sum(1 for item in items if item.status is ItemStatus.OPEN)
