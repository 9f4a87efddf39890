"""The KPI page's action item figures (issue 21)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from receiver.domain.action_items import ItemStatus
from receiver.domain.action_kpi import ItemRecord, action_figures

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 20)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def done(service: str, days: float, due: date | None) -> ItemRecord:
    return ItemRecord(service, ItemStatus.DONE, due, T0, T0 + timedelta(days=days))


def test_open_overdue_median_and_share_done_by_due_per_service() -> None:
    records = [
        ItemRecord("checkout", ItemStatus.OPEN, date(2026, 11, 19), T0, None),  # overdue
        ItemRecord("checkout", ItemStatus.OPEN, None, T0, None),
        done("checkout", 2, date(2026, 11, 10)),  # by its due date
        done("checkout", 12, date(2026, 11, 10)),  # late
        done("search", 3, None),
        ItemRecord("search", ItemStatus.DROPPED, date(2026, 11, 2), T0, None),
    ]
    total, checkout, search = action_figures(records, TODAY, SHANGHAI)
    assert (total.service, total.open, total.overdue, total.done) == ("", 2, 1, 3)
    assert total.median_days_to_done == 3.0
    assert (checkout.service, checkout.open, checkout.overdue) == ("checkout", 2, 1)
    assert checkout.median_days_to_done == 7.0
    assert checkout.share_done_by_due == 0.5
    assert search.share_done_by_due is None  # nothing done had a due date
    assert search.open == 0  # dropped counts nowhere


def test_done_by_due_is_the_teams_date() -> None:
    # done at 2026-11-10 17:00 UTC, already the 11th in Shanghai: late for a due of the 10th
    late = ItemRecord(
        "x", ItemStatus.DONE, date(2026, 11, 10), T0, datetime(2026, 11, 10, 17, 0, tzinfo=UTC)
    )
    assert action_figures([late], TODAY, SHANGHAI)[0].share_done_by_due == 0.0
    assert action_figures([late], TODAY, ZoneInfo("UTC"))[0].share_done_by_due == 1.0
