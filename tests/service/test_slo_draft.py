"""SLO figures in the draft and the postmortem policy, through the real service and store
(SQLite and PostgreSQL): pending until measured, frozen with the evidence, the verdict
kept per incident and a person's promotion kept over later evaluations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from receiver.evidence.record import EvidenceRecord, SloFigure
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.store.schema import outbox
from receiver.usecases.errors import NotPromotable
from receiver.usecases.service import IncidentService
from tests.conftest import Clock, capture_text
from tests.processes import free_port

USERS = 'max(payments_active_users{state="failing"})'
AVAILABILITY = {
    "name": "availability",
    "objective": 99.9,
    "good": 'http_requests_total{service="payments",code!~"5.."}',
    "total": 'http_requests_total{service="payments"}',
    "users": USERS,
}
QUERIES = [f"good: {AVAILABILITY['good']}", f"total: {AVAILABILITY['total']}"]


@pytest.fixture
def slo_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        prometheus_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        evidence_timeout="2s",
        timezone="Asia/Shanghai",
        slos={"payments": [AVAILABILITY]},
    )


@pytest.fixture
async def service(slo_settings: Settings) -> AsyncIterator[IncidentService]:
    database = open_configured_database(slo_settings)
    await database.migrate()
    clock = Clock(Webhook.parse(json.loads(capture_text("resolved_group_3"))).alerts[0].starts_at)
    try:
        yield IncidentService(database, slo_settings, DraftRenderer(), clock=clock)
    finally:
        await database.close()


async def recovered(service: IncidentService) -> int:
    result = None
    for name in ("firing_group_3", "resolved_group_3"):
        body = capture_text(name)
        result = await service.ingest_webhook(Webhook.parse(json.loads(body)), body)
    assert result is not None
    assert result.recovered
    return result.incident_id


async def state_of(service: IncidentService, incident_id: int) -> str | None:
    async with service.db.read() as repo:
        saved = await repo.policy.of(incident_id)
    return None if saved is None else saved.state


def figure(start_minutes: float, end_minutes: float | None, **numbers: float) -> SloFigure:
    """Minutes relative to the first alert (19:11:48 UTC, 03:11:48 in Shanghai)."""
    first = Webhook.parse(json.loads(capture_text("firing_group_3"))).alerts[0].starts_at
    return SloFigure(
        name="availability",
        kind="availability",
        objective=0.999,
        window_seconds=30 * 86400,
        queries=QUERIES,
        impact_start=first + timedelta(minutes=start_minutes),
        impact_end=None if end_minutes is None else first + timedelta(minutes=end_minutes),
        until=first + timedelta(minutes=20),
        users_query=USERS,
        **numbers,  # type: ignore[arg-type]
    )


def record(*slos: SloFigure) -> EvidenceRecord:
    first = slos[0].impact_start
    assert first is not None
    return EvidenceRecord(
        fetched_at=first + timedelta(minutes=30),
        window_start=first - timedelta(minutes=30),
        window_end=first + timedelta(minutes=20),
        source="http://prometheus:9090",
        slos=list(slos),
    )


async def test_a_large_impact_requires_a_postmortem_and_the_draft_says_why(
    service: IncidentService,
) -> None:
    incident_id = await recovered(service)
    draft = (await service.queries.current_draft(incident_id)).markdown
    assert "正在从 Prometheus 获取 SLI（availability）" in draft
    assert "**是否需要事后分析待定**" in draft  # P2, and the figures are not in yet
    assert await state_of(service, incident_id) == "pending"

    # impact 03:06:48–03:15:48 (the alerts: 03:11:48–03:11:51), 444 of 4000 requests
    # failed, 37% of the 30-day budget, 55% of it left after the incident
    burned = figure(
        -5, 4, bad=444, total=4000, burned=0.37, remaining=0.55, worst_ratio=0.2, users=1234
    )
    await service.evidence.store(incident_id, record(burned), attempts=0)
    draft = (await service.queries.current_draft(incident_id)).markdown
    assert (
        "- **用户影响（SLO availability）**: 用户受影响 03:06:48–03:15:48（SLI），"
        "告警 03:11:48–03:11:51；发现用时 5 分 0 秒（自 SLI 低于目标至首条告警）；"
        "本次消耗 30 天错误预算的 37%，剩余 55%（目标 99.9%；SLI："
    ) in draft
    assert "**需要事后分析**：本次消耗错误预算 37.0%（SLO availability）" in draft
    assert "达到触发条件“错误预算消耗 ≥ 5%”" in draft
    assert (
        "- **受影响用户数**: 约 1234（影响期间的最大值，来自 Prometheus 查询 "
        '`max(payments_active_users{state="failing"})`，SLO availability）'
    ) in draft
    assert (
        "- **可用性（SLO availability）**: 影响期间 88.9%，错误率 11.1%（444 / 4000 个请求失败）；"
        "目标: ≥ 99.9%，**未达标**"
    ) in draft
    assert await state_of(service, incident_id) == "required"


async def test_a_tiny_incident_needs_no_postmortem_until_a_person_says_so(
    service: IncidentService,
) -> None:
    incident_id = await recovered(service)
    tiny = figure(0, 1, bad=3, total=900, burned=0.002, remaining=0.9, worst_ratio=0.004)
    await service.evidence.store(incident_id, record(tiny), attempts=0)
    assert await state_of(service, incident_id) == "not_needed"
    draft = (await service.queries.current_draft(incident_id)).markdown
    assert (
        "**无需事后分析**（`no_postmortem_needed`）：未达到任何触发条件（错误预算消耗 ≥ 5%、"
    ) in draft

    await service.policy.promote(incident_id, "zhangsan")
    assert await state_of(service, incident_id) == "required"
    draft = (await service.queries.current_draft(incident_id)).markdown
    assert "**需要事后分析**：由 zhangsan 标记为需要" in draft
    # fresh figures do not undo a person's decision
    await service.evidence.store(incident_id, record(tiny), attempts=1, force=True)
    assert await state_of(service, incident_id) == "required"


async def test_prometheus_down_leaves_the_verdict_open_and_says_why(
    service: IncidentService,
) -> None:
    incident_id = await recovered(service)
    async with aiohttp.ClientSession() as session:
        await service.evidence.gather(incident_id, session)
    draft = (await service.queries.current_draft(incident_id)).markdown
    assert (
        "- **用户影响（SLO availability）**: 暂无数据（Prometheus 查询失败：cannot connect"
    ) in draft
    assert "稍后自动重试" in draft
    assert await state_of(service, incident_id) == "pending"
    async with service.db.read() as repo:
        stored = await repo.evidence.of(incident_id)
    assert stored is not None
    assert stored.state == "partial"  # retried, like the charts


async def test_only_an_incident_the_policy_judged_can_be_promoted(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()  # no SLOs: drafts as always, no verdict
    database = open_configured_database(settings)
    await database.migrate()
    try:
        service = IncidentService(database, settings, DraftRenderer())
        incident_id = await recovered(service)
        draft = (await service.queries.current_draft(incident_id)).markdown
        assert "事后分析**" not in draft
        assert await state_of(service, incident_id) is None
        with pytest.raises(NotPromotable):
            await service.policy.promote(incident_id, "zhangsan")
    finally:
        await database.close()


# queued only: nothing is sent in these tests
NOTIFY = {
    "channels": [{"name": "sre", "type": "slack", "url": "https://hooks.example/x"}],
    "default_channels": ["sre"],
}


async def messages_of(service: IncidentService, incident_id: int) -> dict[str, Any]:
    async with service.db.read() as repo:
        rows = await repo.conn.execute(
            sa.select(outbox.c.event, outbox.c.message).where(outbox.c.incident_id == incident_id)
        )
        return {row.event: row.message for row in rows}


async def test_the_sli_settling_the_verdict_is_a_revision_whose_message_says_why(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        prometheus_url=f"http://127.0.0.1:{free_port()}",
        slos={"payments": [AVAILABILITY]},
        notify=NOTIFY,
    )
    database = open_configured_database(settings)
    await database.migrate()
    try:
        service = IncidentService(database, settings, DraftRenderer())
        incident_id = await recovered(service)
        sent = await messages_of(service, incident_id)
        assert sent["draft_written"]["postmortem"] == "待定（SLO 数据尚未获取完整）"
        burned = figure(-5, 4, bad=444, total=4000, burned=0.37, remaining=0.55)
        await service.evidence.store(incident_id, record(burned), attempts=0)
        assert (await service.queries.current_draft(incident_id)).revision == 2
        sent = await messages_of(service, incident_id)
        assert sent["draft_revised"]["postmortem"] == "需要（错误预算消耗 37.0%，SLO availability）"
    finally:
        await database.close()


async def test_the_draft_ready_message_says_which_trigger_was_met(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        prometheus_url=f"http://127.0.0.1:{free_port()}",
        slos={"payments": [AVAILABILITY]},
        severity_map={"warning": "P1"},  # the alerts are P1: required at recovery
        notify=NOTIFY,
    )
    database = open_configured_database(settings)
    await database.migrate()
    try:
        service = IncidentService(database, settings, DraftRenderer())
        incident_id = await recovered(service)
        messages = await messages_of(service, incident_id)
        assert messages["draft_written"]["postmortem"] == "需要（事故级别 P1）"
        assert messages["opened"]["postmortem"] is None  # judged only with a draft
        draft = (await service.queries.current_draft(incident_id)).markdown
        assert "**需要事后分析**：事故级别 P1，达到触发条件“P0/P1 事故”" in draft
    finally:
        await database.close()
