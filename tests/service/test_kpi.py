"""The KPI use case on SQLite and PostgreSQL: incidents made from real Alertmanager
captures, people's reports and reviews, read back as the KPI page's figures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from receiver.config import Settings
from receiver.domain.incident import IncidentStatus
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.usecases.record_event import ManualEvent
from receiver.usecases.service import IncidentService
from tests.conftest import Clock, capture, shifted
from tests.service.test_service import ingest

ZONE = "Asia/Shanghai"
START = datetime(2026, 11, 26, 19, 11, 48, 595000, tzinfo=UTC)  # the group's startsAt
END = datetime(2026, 11, 26, 19, 11, 51, 946000, tzinfo=UTC)  # its endsAt
LATER = timedelta(hours=3)


@pytest.fixture
async def service(
    make_settings: Callable[..., Settings], clock: Clock
) -> AsyncIterator[IncidentService]:
    settings = make_settings(timezone=ZONE, target_incidents_per_month=5)
    database = open_configured_database(settings)
    await database.migrate()
    yield IncidentService(database, settings, DraftRenderer(), clock=clock)
    await database.close()


async def seed(service: IncidentService, clock: Clock) -> None:
    """#1 payments: acked, resolved, an overdue action, approved two days after its draft;
    #2 the same alerts 3 h later (MTBF); #3 checkout (P1) still firing."""
    await ingest(service, capture("firing_group_3"))
    ack = {"type": "ack", "service": "payments", "message": "在看", "actor": "lisi"}
    await service.record_event(
        ManualEvent.model_validate({**ack, "at": "2026-11-26T19:11:50.595Z"}), "{}"
    )
    await ingest(service, capture("resolved_group_3"))
    drafted_at = clock.now
    clock.advance(hours=2)
    await ingest(service, shifted(capture("firing_group_3"), LATER))
    await ingest(service, shifted(capture("resolved_group_3"), LATER))
    await ingest(service, capture("firing_single"))
    actions = [
        {"text": "扩大连接池", "owner": "lisi", "due": "2026-11-20"},
        {"text": "加告警", "owner": "wangwu", "due": "2026-11-21", "done": True},
    ]
    await service.review.update_human_fields(1, {"actions": actions}, "zhangsan")
    clock.now = drafted_at + timedelta(days=2)
    await service.review.change_status(1, IncidentStatus.IN_REVIEW, "zhangsan", "")
    await service.review.change_status(1, IncidentStatus.APPROVED, "zhangsan", "演练")


async def test_kpis_of_real_incidents(service: IncidentService, clock: Clock) -> None:
    await seed(service, clock)
    clock.now = datetime(2026, 12, 7, 2, tzinfo=UTC)
    figures = await service.queries.kpi(months=2, until=(2026, 12), service=None)
    report = figures.report
    assert figures.services == ["checkout", "payments"]
    assert [m.label for m in report.months] == ["2026-11", "2026-12"]
    november, december = report.totals
    assert (november.incidents, december.incidents) == (3, 0)
    assert november.count_met  # fewer than 5
    # the two payments incidents ended at Alertmanager's endsAt; checkout still fires
    assert november.mttr.value == END - START
    assert (november.mttr.count, november.mttr.estimated) == (2, 0)
    assert november.mttr_met is True
    assert november.mtta.value == timedelta(seconds=2)
    assert november.mtta.count == 1
    assert november.mtbf.value == LATER - (END - START)
    assert november.mtbf.count == 1
    assert [(m.service, m.incidents) for m in report.by_service] == [
        ("checkout", 1),
        ("payments", 2),
    ]
    (quarter,) = report.quarter_totals
    assert (quarter.quarter, quarter.incidents, quarter.severe) == ("2026-Q4", 3, 1)
    review = report.review
    assert (review.drafted, review.in_review, review.approved) == (1, 0, 1)
    assert review.approval.value == timedelta(days=2)
    assert [(a.incident_id, a.text, a.due) for a in report.overdue] == [
        (1, "扩大连接池", date(2026, 11, 20))
    ]


async def test_kpis_of_one_service_and_an_empty_range(
    service: IncidentService, clock: Clock
) -> None:
    await seed(service, clock)
    payments = (await service.queries.kpi(months=1, until=(2026, 11), service="payments")).report
    assert payments.services == ("payments",)
    assert payments.totals[0].incidents == 2
    assert payments.quarter_totals[0].severe == 0
    earlier = (await service.queries.kpi(months=3, until=(2026, 10), service=None)).report
    assert [m.incidents for m in earlier.totals] == [0, 0, 0]
    assert earlier.totals[0].mttr.value is None
    assert earlier.overdue == ()
