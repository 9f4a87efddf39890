"""The inbox: replay into a fresh database or the same one, and retention."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.usecases.record_event import ManualEvent
from receiver.usecases.service import IncidentService
from tests.conftest import Clock, capture, capture_text


async def fill(settings: Settings, clock: Clock) -> None:
    database = open_configured_database(settings)
    await database.migrate()
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)
    try:
        await service.ingest_webhook(
            Webhook.parse(capture("firing_group_3")), capture_text("firing_group_3")
        )
        for kind, key in (("ack", None), ("rollback", "rb-1"), ("note", None)):
            clock.advance(minutes=2)
            fields: dict[str, Any] = {
                "type": kind,
                "service": "payments",
                "message": kind,
                "actor": "lisi",
            }
            if key:
                fields["idempotency_key"] = key
            event = ManualEvent.model_validate(fields)
            await service.record_event(event, json.dumps(fields))
        clock.advance(minutes=2)
        await service.ingest_webhook(
            Webhook.parse(capture("resolved_group_3")), capture_text("resolved_group_3")
        )
    finally:
        await database.close()


async def test_retention_prunes_old_bodies(settings: Settings, clock: Clock) -> None:
    await fill(settings, clock)
    database = open_configured_database(settings)
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)
    try:
        assert await service.queries.prune_inbox(clock.now - timedelta(minutes=3)) == 3
        assert (
            len(await service.queries.inbox(since=None, incident_id=None, after_id=0, limit=10))
            == 2
        )
    finally:
        await database.close()
