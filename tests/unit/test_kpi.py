"""The KPI figures: MTTR (and which include estimated ends), MTTA, MTBF, counts, P0/P1
per quarter, the review's progress and overdue actions; months in the team's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from receiver.domain.incident import (
    EntryKind,
    Incident,
    IncidentStatus,
    Phase,
    Source,
    TimelineEntry,
)
from receiver.domain.kpi import (
    ALL_SERVICES,
    KpiIncident,
    Targets,
    kpi_report,
    months_until,
    quarters_of,
)
from receiver.domain.review import ActionItem

SHANGHAI = ZoneInfo("Asia/Shanghai")
TARGETS = Targets(
    mttr=timedelta(hours=1),
    mtbf=timedelta(hours=720),
    incidents_per_month=3,
    severe_per_quarter=1,
)
TODAY = date(2026, 12, 7)


def incident(
    number: int,
    start: datetime,
    minutes: float | None,
    *,
    service: str = "payments",
    priority: str = "P2",
    key: str = "",
    status: IncidentStatus = IncidentStatus.DRAFTED,
    approved_at: datetime | None = None,
) -> Incident:
    end = start + timedelta(minutes=minutes) if minutes is not None else None
    return Incident(
        key=key or f"key-{number}",
        receiver="team",
        group_key="{}",
        group_labels={},
        common_labels={},
        common_annotations={},
        external_url="",
        title=f"incident {number}",
        priority=priority,
        status=status if end is not None else IncidentStatus.FIRING,
        opened_at=start,
        started_at=start,
        ended_at=end,
        updated_at=end or start,
        service=service,
        approved_at=approved_at,
        id=number,
    )


def entry(kind: EntryKind, at: datetime, source: Source = Source.MANUAL) -> TimelineEntry:
    return TimelineEntry(at, Phase.DETECT, kind, source, f"{kind}-{at.isoformat()}", "lisi")


def resolved(item: Incident) -> TimelineEntry:
    assert item.ended_at is not None
    return entry(EntryKind.ALL_RESOLVED, item.ended_at, Source.ALERTMANAGER)


def kpi(
    item: Incident,
    *extra: TimelineEntry,
    previous_end: datetime | None = None,
    first_draft_at: datetime | None = None,
    actions: tuple[ActionItem, ...] = (),
) -> KpiIncident:
    entries = (*extra, resolved(item)) if item.ended_at else extra
    return KpiIncident(item, entries, True, previous_end, first_draft_at, actions)


def at(day: int, hour: int = 12, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def test_months_are_calendar_months_in_the_zone() -> None:
    months = months_until(2026, 2, 3, SHANGHAI)
    assert [m.label for m in months] == ["2025-12", "2026-01", "2026-02"]
    # Shanghai's December starts at 16:00 UTC on November 30
    assert months[0].start == datetime(2025, 11, 30, 16, tzinfo=UTC)
    assert months[-1].end == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert [q.label for q in quarters_of(months, SHANGHAI)] == ["2025-Q4", "2026-Q1"]
    assert quarters_of(months, SHANGHAI)[0].start == datetime(2025, 9, 30, 16, tzinfo=UTC)


def test_an_incident_at_utc_month_end_counts_in_the_zones_next_month() -> None:
    # 2026-11-30 17:00 UTC is 2026-12-01 01:00 in Shanghai
    late = incident(1, datetime(2026, 11, 30, 17, tzinfo=UTC), 10)
    months = months_until(2026, 12, 2, SHANGHAI)
    report = kpi_report([kpi(late)], months, SHANGHAI, TARGETS, TODAY)
    assert [(m.month, m.incidents) for m in report.totals] == [("2026-11", 0), ("2026-12", 1)]
    in_utc = kpi_report(
        [kpi(late)], months_until(2026, 12, 2, ZoneInfo("UTC")), ZoneInfo("UTC"), TARGETS, TODAY
    )
    assert [(m.month, m.incidents) for m in in_utc.totals] == [("2026-11", 1), ("2026-12", 0)]


def test_mttr_mtta_and_counts_per_service_and_month() -> None:
    first = incident(1, at(3), 30)
    second = incident(2, at(10), 90)
    other = incident(3, at(12), 20, service="search")
    firing = incident(4, at(20), None)
    items = [
        kpi(first, entry(EntryKind.ACK, at(3) + timedelta(minutes=4))),
        # the first ack counts, whether a person's or a silence's
        kpi(
            second,
            entry(EntryKind.ACK, at(10) + timedelta(minutes=10), Source.SILENCE),
            entry(EntryKind.ACK, at(10) + timedelta(minutes=30)),
        ),
        kpi(other),
        kpi(firing, entry(EntryKind.ACK, at(20) + timedelta(minutes=2))),
    ]
    report = kpi_report(items, months_until(2026, 11, 1, SHANGHAI), SHANGHAI, TARGETS, TODAY)
    (total,) = report.totals
    assert total.service == ALL_SERVICES
    assert total.incidents == 4
    assert not total.count_met  # 4 is not fewer than 3
    # MTTR over the three that ended: (30 + 90 + 20) / 3 minutes
    assert total.mttr.value == timedelta(minutes=140 / 3)
    assert (total.mttr.count, total.mttr.estimated) == (3, 0)
    assert total.mttr_met is True
    # MTTA over the three acknowledged: (4 + 10 + 2) / 3
    assert total.mtta.value == timedelta(minutes=16 / 3)
    assert total.mtta.count == 3
    payments, search = report.by_service
    assert (payments.service, payments.incidents, payments.mttr.value) == (
        "payments",
        3,
        timedelta(minutes=60),
    )
    assert payments.mttr_met is False  # 60 minutes is not below the 1 h target
    assert (search.service, search.incidents, search.mtta.value) == ("search", 1, None)
    assert report.services == ("payments", "search")


def test_a_reconciled_end_is_counted_as_estimated() -> None:
    exact = incident(1, at(3), 30)
    silenced = incident(2, at(5), 120)
    assert silenced.ended_at is not None
    found = entry(EntryKind.ALL_RESOLVED, silenced.ended_at, Source.RECONCILE)
    reported = entry(EntryKind.RESOLVE, at(5) + timedelta(minutes=50))
    items = [
        kpi(exact),
        KpiIncident(silenced, (found,), True, None, None),
    ]
    report = kpi_report(items, months_until(2026, 11, 1, SHANGHAI), SHANGHAI, TARGETS, TODAY)
    assert report.totals[0].mttr.value == timedelta(minutes=75)
    assert (report.totals[0].mttr.count, report.totals[0].mttr.estimated) == (2, 1)
    # a person's earlier report of recovery is the end the draft states: still an estimate
    items[1] = KpiIncident(silenced, (found, reported), True, None, None)
    report = kpi_report(items, months_until(2026, 11, 1, SHANGHAI), SHANGHAI, TARGETS, TODAY)
    assert report.totals[0].mttr.value == timedelta(minutes=40)
    assert report.totals[0].mttr.estimated == 1


def test_mtbf_averages_the_gaps_after_each_keys_previous_end() -> None:
    first = incident(1, at(2), 60, key="k")
    second = incident(2, at(12), 60, key="k")  # 10 days minus 1 hour after the first ended
    third = incident(3, at(20), 60, key="j")
    items = [
        kpi(first),
        kpi(second, previous_end=first.ended_at),
        kpi(third, previous_end=at(18)),  # 2 days after j's previous incident (October)
    ]
    report = kpi_report(items, months_until(2026, 11, 1, SHANGHAI), SHANGHAI, TARGETS, TODAY)
    mtbf = report.totals[0].mtbf
    assert mtbf.count == 2
    assert mtbf.value == (timedelta(days=10, hours=-1) + timedelta(days=2)) / 2
    assert report.totals[0].mtbf_met is False  # below 720 h
    assert (
        kpi_report(items[:1], months_until(2026, 11, 1, SHANGHAI), SHANGHAI, TARGETS, TODAY)
        .totals[0]
        .mtbf_met
        is None
    )


def test_p0_p1_per_whole_quarter() -> None:
    # October is outside the months shown but inside their quarter
    october = incident(1, at(5, month=10), 10, priority="P1")
    november = incident(2, at(5), 10, priority="P0")
    minor = incident(3, at(6), 10, priority="P3", service="search")
    report = kpi_report(
        [kpi(october), kpi(november), kpi(minor)],
        months_until(2026, 11, 1, SHANGHAI),
        SHANGHAI,
        TARGETS,
        TODAY,
    )
    (quarter,) = report.quarter_totals
    assert (quarter.quarter, quarter.incidents, quarter.severe) == ("2026-Q4", 3, 2)
    assert quarter.severe_met is False
    assert [(q.service, q.severe, q.severe_met) for q in report.quarters_by_service] == [
        ("payments", 2, False),
        ("search", 0, True),
    ]
    assert report.totals[0].incidents == 2  # the month counts only its own


def test_review_progress_and_time_to_approval() -> None:
    drafted_at = at(4)
    items = [
        kpi(incident(1, at(3), 10), first_draft_at=drafted_at),
        kpi(incident(2, at(3), 10, status=IncidentStatus.IN_REVIEW), first_draft_at=drafted_at),
        kpi(
            incident(3, at(3), 10, status=IncidentStatus.APPROVED, approved_at=at(5)),
            first_draft_at=drafted_at,
        ),
        kpi(
            incident(4, at(3), 10, status=IncidentStatus.APPROVED, approved_at=at(8)),
            first_draft_at=drafted_at,
        ),
        kpi(
            incident(5, at(3), 10, status=IncidentStatus.APPROVED, approved_at=at(9)),
            first_draft_at=drafted_at,
        ),
    ]
    report = kpi_report(items, months_until(2026, 11, 1, SHANGHAI), SHANGHAI, TARGETS, TODAY)
    review = report.review
    assert (review.drafted, review.in_review, review.approved) == (1, 1, 3)
    assert review.approval.value == timedelta(days=(1 + 4 + 5) / 3)
    assert review.approval_median == timedelta(days=4)


def test_overdue_actions_are_due_before_today_and_not_done() -> None:
    actions = (
        ActionItem(text="扩大连接池", owner="lisi", due=date(2026, 12, 1)),
        ActionItem(text="加告警", owner="wangwu", due=date(2026, 12, 6), done=True),
        ActionItem(text="今天到期", due=TODAY),
        ActionItem(text="没有期限"),
    )
    report = kpi_report(
        [kpi(incident(7, at(3), 10), actions=actions)],
        months_until(2026, 11, 1, SHANGHAI),
        SHANGHAI,
        TARGETS,
        TODAY,
    )
    assert [(a.incident_id, a.text, a.owner, a.due) for a in report.overdue] == [
        (7, "扩大连接池", "lisi", date(2026, 12, 1))
    ]
