"""The service on a real SQLite file: transactions, races, reopen, revisions, export."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from receiver.domain.incident import IncidentStatus
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.usecases.service import IncidentService
from tests.conftest import Clock, capture, shifted

ServiceFactory = Callable[..., Any]


@pytest.fixture
async def make_service(
    make_settings: Callable[..., Settings], clock: Clock
) -> AsyncIterator[ServiceFactory]:
    opened = []

    async def build(**overrides: Any) -> IncidentService:
        settings = make_settings(**overrides)
        database = open_configured_database(settings)
        await database.migrate()
        opened.append(database)
        return IncidentService(database, settings, DraftRenderer(), clock=clock)

    yield build
    for database in opened:
        await database.close()


async def ingest(service: IncidentService, body: dict[str, Any]) -> Any:
    text = json.dumps(body)
    return await service.ingest_webhook(Webhook.parse(body), text)


async def test_concurrent_ha_duplicates_make_one_incident(make_service: ServiceFactory) -> None:
    service = await make_service()
    results = await asyncio.gather(
        ingest(service, capture("ha_duplicate_peer0")),
        ingest(service, capture("ha_duplicate_peer1")),
    )
    assert {r.incident_id for r in results} == {1}
    assert sorted(r.changed for r in results) == [False, True]
    detail = await service.queries.incident_detail(1)
    assert len(detail.episodes) == 3
    assert len(detail.timeline) == 4


async def test_two_processes_sharing_the_file_make_one_incident(
    make_service: ServiceFactory,
) -> None:
    # two services = two engines on one SQLite file, as two receiver processes would be
    first, second = await make_service(), await make_service()
    results = await asyncio.gather(
        ingest(first, capture("firing_group_3")), ingest(second, capture("firing_group_3"))
    )
    # one incident (its id may be 2 on PostgreSQL: the loser's insert used a sequence value)
    assert len({r.incident_id for r in results}) == 1
    _, total = await first.queries.list_incidents(limit=10, offset=0)
    assert total == 1


async def test_refire_within_window_reopens_and_writes_revision_two(
    make_service: ServiceFactory, clock: Clock, settings: Settings
) -> None:
    service = await make_service()
    await ingest(service, capture("firing_group_3"))
    clock.advance(seconds=5)
    first = await ingest(service, capture("resolved_group_3"))
    assert first.draft_revision == 1
    assert first.status is IncidentStatus.DRAFTED

    clock.advance(minutes=10)
    refire = await ingest(service, shifted(capture("firing_group_3"), timedelta(minutes=10)))
    assert refire.incident_id == first.incident_id
    assert refire.status is IncidentStatus.FIRING
    detail = await service.queries.incident_detail(first.incident_id)
    assert [e.kind.value for e in detail.timeline].count("refired") == 1

    clock.advance(minutes=5)
    second = await ingest(service, shifted(capture("resolved_group_3"), timedelta(minutes=10)))
    assert second.draft_revision == 2
    detail = await service.queries.incident_detail(first.incident_id)
    assert [d.revision for d in detail.drafts] == [1, 2]
    assert "修订 2" in detail.drafts[1].markdown
    assert "告警再次触发" in detail.drafts[1].markdown
    assert settings.drafts_dir is not None
    (exported,) = settings.drafts_dir.iterdir()
    assert exported.read_text(encoding="utf-8") == detail.drafts[1].markdown


async def test_refire_after_window_opens_new_incident_with_mtbf(
    make_service: ServiceFactory, clock: Clock
) -> None:
    service = await make_service()
    await ingest(service, capture("firing_group_3"))
    await ingest(service, capture("resolved_group_3"))
    clock.advance(hours=3)
    later = timedelta(hours=3)
    second = await ingest(service, shifted(capture("firing_group_3"), later))
    assert second.incident_id == 2
    assert second.created
    result = await ingest(service, shifted(capture("resolved_group_3"), later))
    draft = (await service.queries.current_draft(result.incident_id)).markdown
    assert "同一告警组上次事故结束于 2026-11-26 19:11" in draft
    assert "payments 服务本月第 2 次（含本次）" in draft


async def test_kpi_counts_include_the_incident_itself_with_its_priority_at_recovery(
    make_service: ServiceFactory, clock: Clock
) -> None:
    # warning maps to P1 here: both incidents count among the quarter's P0/P1
    service = await make_service(severity_map={"warning": "P1"})
    await ingest(service, capture("firing_group_3"))
    first = await ingest(service, capture("resolved_group_3"))
    first_draft = (await service.queries.current_draft(first.incident_id)).markdown
    assert "payments 服务本月第 1 次（含本次）" in first_draft
    assert "payments 服务本季度 P0/P1 1 次（含本次 P1）" in first_draft
    clock.advance(hours=3)
    later = timedelta(hours=3)
    await ingest(service, shifted(capture("firing_group_3"), later))
    second = await ingest(service, shifted(capture("resolved_group_3"), later))
    draft = (await service.queries.current_draft(second.incident_id)).markdown
    assert "payments 服务本月第 2 次（含本次）" in draft
    assert "payments 服务本季度 P0/P1 2 次（含本次 P1）" in draft
    # the first one's draft, written again after the second: still counts up to itself
    await service.review.update_human_fields(first.incident_id, {"owner": "zhangsan"}, "lisi")
    again = (await service.queries.current_draft(first.incident_id)).markdown
    assert "修订 2" in again
    assert "payments 服务本月第 1 次（含本次）" in again
    assert "payments 服务本季度 P0/P1 1 次（含本次 P1）" in again


async def test_kpi_targets_come_from_the_settings(
    make_service: ServiceFactory, clock: Clock
) -> None:
    service = await make_service(target_mttr="2h", target_mtbf="48h", target_incidents_per_month=3)
    await ingest(service, capture("firing_group_3"))
    first = await ingest(service, capture("resolved_group_3"))
    draft = (await service.queries.current_draft(first.incident_id)).markdown
    assert "目标: < 2 小时，**达标**" in draft
    assert "目标: > 48 小时" in draft
    assert "本月第 1 次（含本次）；目标: < 3 次/月，**达标**" in draft


async def test_export_failure_keeps_webhook_and_draft_and_is_retried(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    not_a_directory = tmp_path / "drafts-is-a-file"
    not_a_directory.write_text("occupied")
    service = await make_service(drafts_dir=not_a_directory)
    await ingest(service, capture("firing_single"))
    result = await ingest(service, capture("resolved_single"))
    assert result.draft_revision == 1
    markdown = (await service.queries.current_draft(1)).markdown
    assert "checkout 服务 5xx 错误率过高" in markdown
    assert not_a_directory.read_text() == "occupied"
    assert await service.drafts.retry_exports() == 0  # still not a directory: still pending
    failed = service.metrics.registry.get_sample_value(
        "postmortem_receiver_draft_exports_total", {"result": "failed"}
    )
    assert failed == 2

    not_a_directory.unlink()  # someone fixes the volume
    assert await service.drafts.retry_exports() == 1
    (written,) = not_a_directory.iterdir()
    assert written.read_text(encoding="utf-8") == markdown
    assert await service.drafts.retry_exports() == 0  # done: nothing pending any more


async def test_data_survives_a_new_engine_on_the_same_file(
    make_service: ServiceFactory,
) -> None:
    service = await make_service()
    await ingest(service, capture("firing_group_3"))
    await service.db.close()
    reopened = await make_service()
    detail = await reopened.queries.incident_detail(1)
    assert detail.incident.status is IncidentStatus.FIRING
    assert len(detail.episodes) == 3
    again = await ingest(reopened, capture("firing_group_3"))
    assert not again.changed


async def test_new_series_of_open_incident_joins_it_despite_new_group_key(
    make_service: ServiceFactory,
) -> None:
    service = await make_service()
    await ingest(service, capture("firing_single"))
    moved = capture("groupkey_subroute")  # same alert series routed under another groupKey
    assert moved["alerts"][0]["fingerprint"] == capture("firing_single")["alerts"][0]["fingerprint"]
    result = await ingest(service, moved)
    assert result.incident_id == 1
    assert not result.created
