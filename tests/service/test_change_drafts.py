"""Changes in the draft through the real service, on SQLite and PostgreSQL: a change
stored before the alerts is named as a candidate; one arriving after the draft writes a
new revision; people's verdicts move the candidates."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from receiver.domain.drafting import CHANGES_AUTHOR
from receiver.domain.incident import IncidentStatus
from receiver.domain.review import ReviewLocked
from receiver.domain.suspects import Verdict
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.usecases.record_change import inbox_kind
from receiver.usecases.service import IncidentService
from tests.conftest import REPO, Clock, capture
from tests.inbox import apply_all

FIRST_ALERT = datetime(2026, 11, 26, 19, 11, 48, 595000, tzinfo=UTC)  # firing_group_3


def deploy(source_id: str, minutes: float, service: str = "payments") -> ServiceChange:
    return ServiceChange(
        source=ChangeSource.FLUX,
        source_id=source_id,
        type=ChangeType.DEPLOY,
        service=service,
        summary=f"{service}-api {source_id}",
        started_at=FIRST_ALERT + timedelta(minutes=minutes),
        namespace="prod" if service == "payments" else "search",
        from_version="v2.31.0",
        to_version=source_id,
        actor="张三",
        link=f"https://git.example.com/{service}/commit/{source_id}",
    )


@pytest.fixture
async def service(
    make_settings: Callable[..., Settings], clock: Clock
) -> AsyncIterator[IncidentService]:
    settings = make_settings(timezone="Asia/Shanghai")
    database = open_configured_database(settings)
    await database.migrate()
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)
    yield service
    await service.close()
    await database.close()


async def fire_and_resolve(service: IncidentService, clock: Clock) -> int:
    for name in ("firing_group_3", "resolved_group_3"):
        body = capture(name)
        await service.ingest_webhook(Webhook.parse(body), json.dumps(body))
        clock.advance(seconds=1)
    result = await service.ingest_webhook(
        Webhook.parse(capture("resolved_group_3")), json.dumps(capture("resolved_group_3"))
    )
    return result.incident_id


async def test_a_change_before_the_alerts_is_a_candidate_and_the_other_service_is_not(
    service: IncidentService, clock: Clock
) -> None:
    await service.record_change(deploy("v2.32.0", -10))
    await service.record_change(deploy("v9.1.0", -2, service="search"))
    incident_id = await fire_and_resolve(service, clock)
    draft = await service.queries.current_draft(incident_id)
    cause = draft.markdown.split("### 直接原因", 1)[1].split("###", 1)[0]
    assert "- 候选（待确认）：03:01:48 payments 发布：payments-api v2.32.0" in cause
    assert "[查看变更](https://git.example.com/payments/commit/v2.32.0)" in cause
    assert "【待填写：直接原因" in cause
    assert "search" not in draft.markdown.split("## 根因分析", 1)[0].split("**变更记录**")[1]


async def test_a_change_arriving_after_the_draft_writes_a_new_revision(
    service: IncidentService, clock: Clock
) -> None:
    incident_id = await fire_and_resolve(service, clock)
    first = await service.queries.current_draft(incident_id)
    assert "变更记录" not in first.markdown
    clock.advance(minutes=5)
    await service.record_change(deploy("v9.1.0", -3, service="search"))  # unrelated service
    assert (await service.queries.current_draft(incident_id)).revision == first.revision
    clock.advance(minutes=1)
    _, created = await service.record_change(deploy("v2.32.0", -10))
    assert created
    second = await service.queries.current_draft(incident_id)
    assert second.revision == first.revision + 1
    assert second.created_by == CHANGES_AUTHOR
    assert "候选（待确认）：03:01:48 payments 发布" in second.markdown
    _, created = await service.record_change(deploy("v2.32.0", -10))  # a replay
    assert not created
    assert (await service.queries.current_draft(incident_id)).revision == second.revision


async def test_people_mark_a_change_the_cause_or_not_related_and_the_draft_follows(
    service: IncidentService, clock: Clock
) -> None:
    stored, _ = await service.record_change(deploy("v2.32.0", -10))
    assert stored.id is not None
    incident_id = await fire_and_resolve(service, clock)
    clock.advance(minutes=3)
    await service.change_drafts.mark(incident_id, stored.id, Verdict.CAUSE, "李四")
    draft = await service.queries.current_draft(incident_id)
    assert draft.created_by == "李四"
    assert "- **李四 于 2026-11-27 03:15 标记为原因**：03:01:48 payments 发布" in draft.markdown
    clock.advance(minutes=1)
    await service.change_drafts.mark(incident_id, stored.id, Verdict.UNRELATED, "王五")
    draft = await service.queries.current_draft(incident_id)
    assert "候选" not in draft.markdown.split("### 直接原因", 1)[1].split("###", 1)[0]
    assert "已排除：无关（王五，2026-11-27 03:16） |" in draft.markdown
    async with service.db.read() as repo:
        [mark] = await repo.change_verdicts.of(incident_id)
    assert (mark.verdict, mark.actor) == (Verdict.UNRELATED, "王五")
    await service.change_drafts.mark(incident_id, stored.id, None, "王五")
    draft = await service.queries.current_draft(incident_id)
    assert "候选（待确认）" in draft.markdown


async def test_an_approved_postmortem_is_not_moved_by_a_verdict(
    service: IncidentService, clock: Clock
) -> None:
    stored, _ = await service.record_change(deploy("v2.32.0", -10))
    assert stored.id is not None
    incident_id = await fire_and_resolve(service, clock)
    await service.review.change_status(incident_id, IncidentStatus.IN_REVIEW, "李四")
    await service.review.change_status(incident_id, IncidentStatus.APPROVED, "李四", "演练")
    with pytest.raises(ReviewLocked):
        await service.change_drafts.mark(incident_id, stored.id, Verdict.CAUSE, "李四")


async def test_a_change_through_the_inbox_after_the_draft_writes_a_new_revision(
    service: IncidentService, clock: Clock
) -> None:
    """As POST /api/v1/changes/manual stores it: accepted into the inbox, applied behind."""
    incident_id = await fire_and_resolve(service, clock)
    first = await service.queries.current_draft(incident_id)
    clock.advance(minutes=10)
    body = (REPO / "tests" / "fixtures" / "changes" / "manual" / "deploy.json").read_text()
    await service.accept(inbox_kind(ChangeSource.MANUAL), body, None)
    report = await apply_all(service)
    assert (report.applied, report.failed) == (1, None)
    second = await service.queries.current_draft(incident_id)
    assert second.revision == first.revision + 1
    assert second.created_by == CHANGES_AUTHOR
    assert "- 候选（待确认）：02:55:00 payments 发布：发布 payments-api v2.32.0" in second.markdown
    # the batch exported the new revision after its commit, as it does a webhook's
    drafts_dir = service.settings.drafts_dir
    assert drafts_dir is not None
    (exported,) = drafts_dir.iterdir()
    assert exported.read_text(encoding="utf-8") == second.markdown
    again = await service.apply_inbox.batch(10)  # nothing left: no further revision
    assert again.applied == 0
    assert (await service.queries.current_draft(incident_id)).revision == second.revision
