"""Re-apply stored webhooks and events from the inbox, idempotently, at their receipt times
(after a bug fix, or into a fresh database)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from pydantic import ValidationError

from receiver.alertmanager.grafana import GrafanaWebhook
from receiver.alertmanager.webhook import Webhook
from receiver.changes.common import Ignored
from receiver.changes.read import read_change
from receiver.store import InboxRecord
from receiver.usecases.errors import IncidentNotFound
from receiver.usecases.record_change import source_of_kind
from receiver.usecases.record_event import ManualEvent
from receiver.usecases.service import IncidentService

log = structlog.get_logger(__name__)
_PAGE = 500


class ReplayClock:
    """The service's clock during a replay: each record's own receipt time."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass(slots=True)
class ReplayReport:
    applied: int = 0  # changed something
    unchanged: int = 0  # already applied
    failed: int = 0


async def replay_inbox(
    source: IncidentService,
    target: IncidentService,
    clock: ReplayClock,
    *,
    since: datetime | None = None,
    incident_id: int | None = None,
) -> ReplayReport:
    """Read `source`'s inbox and apply each record through `target` (whose clock is
    `clock`), in receipt order. Source and target may be the same database."""
    report = ReplayReport()
    after = 0
    while records := await source.queries.inbox(
        since=since, incident_id=incident_id, after_id=after, limit=_PAGE
    ):
        for record in records:
            after = record.id
            clock.now = record.received_at
            try:
                changed = await _apply(target, record)
            except (ValidationError, ValueError, IncidentNotFound) as exc:
                report.failed += 1
                log.warning("replay.failed", inbox_id=record.id, error=str(exc))
                continue
            if changed:
                report.applied += 1
            else:
                report.unchanged += 1
    return report


async def _apply(service: IncidentService, record: InboxRecord) -> bool:
    if record.kind == "alertmanager":
        hook = Webhook.parse(json.loads(record.body))
        result = await service.ingest_webhook(hook, record.body, keep_body=False)
    elif record.kind == "grafana":
        hook = GrafanaWebhook.parse(json.loads(record.body)).as_webhook()
        result = await service.ingest_webhook(hook, record.body, keep_body=False)
    elif record.kind == "event":
        event = ManualEvent.model_validate(json.loads(record.body))
        result = await service.record_event(event, record.body, keep_body=False)
    elif (source := source_of_kind(record.kind)) is not None:
        change = read_change(source, record.body)
        if isinstance(change, Ignored):
            return False
        _, created = await service.record_change(change, inbox_id=record.id)
        return created
    else:
        raise ValueError(f"unknown inbox record kind {record.kind!r}")
    return result.changed
