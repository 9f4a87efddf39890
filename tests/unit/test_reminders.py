"""Which action items are reminded of today, and when the weekly digest is due (issue 21)."""

from __future__ import annotations

from datetime import date

from receiver.domain.action_items import ItemStatus, TrackedItem
from receiver.domain.reminders import ReminderKind, digest_key, reminders_due

TODAY = date(2026, 12, 7)  # a Monday


def item(id: str, due: date | None, status: ItemStatus = ItemStatus.OPEN) -> TrackedItem:
    return TrackedItem(id, 1, "actions", "immediate", 0, id, "lisi", due, status, "", "")


def test_due_within_the_days_or_overdue_once_a_day() -> None:
    items = [
        item("late", date(2026, 12, 1)),
        item("tomorrow", date(2026, 12, 8)),
        item("later", date(2026, 12, 20)),
        item("undated", None),
        item("done", date(2026, 12, 1), ItemStatus.DONE),
    ]
    found = reminders_due(items, TODAY, within_days=2)
    assert [(r.item.id, r.kind) for r in found] == [
        ("late", ReminderKind.OVERDUE),
        ("tomorrow", ReminderKind.DUE_SOON),
    ]
    assert found[0].key == "item:late:2026-12-07"
    assert reminders_due(items, date(2026, 12, 8), 2)[0].key == "item:late:2026-12-08"


def test_digest_once_a_week_from_its_day() -> None:
    assert digest_key("sre", TODAY, 1) == "digest:sre:2026-W50"
    assert digest_key("sre", date(2026, 12, 9), 1) == "digest:sre:2026-W50"  # down on Monday
    assert digest_key("sre", TODAY, 3) is None  # Wednesday's has not come
    assert digest_key("sre", TODAY, 0) is None  # off
