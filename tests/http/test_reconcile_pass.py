"""The periodic pass over open incidents with Alertmanager out of reach: it reads them a
page at a time (a storm leaves thousands open: all of them in memory at once took
200 MB) and writes only those that go stale (a transaction for each open incident,
every minute, was most of a storm's drain)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.alertmanager.client import AlertmanagerClient
from receiver.app import create_app
from receiver.config import Settings
from receiver.usecases.reconcile import Reconcile
from receiver.web.keys import METRICS, SERVICE
from receiver.workers import reconciler as reconciler_module
from receiver.workers.reconciler import Reconciler
from tests.conftest import Clock, as_group, capture
from tests.inbox import applied
from tests.spies import calls_of

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
JSON = {"Content-Type": "application/json"}


async def test_a_pass_reads_open_incidents_a_page_at_a_time_and_marks_only_the_silent(
    aiohttp_client: ClientFactory,
    make_settings: Callable[..., Settings],
    clock: Clock,
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = await aiohttp_client(
        create_app(make_settings(reconcile_interval="0s", stale_after="4h"), clock=clock)
    )
    incident_ids = []
    for tag in range(5):
        body = json.dumps(as_group(capture("firing_single"), tag))
        answer = await client.post("/api/v1/alerts", data=body, headers=JSON)
        assert answer.status == 202
        incident_ids.append((await applied(client, await answer.json()))["incident_id"])
    monkeypatch.setattr(reconciler_module, "PAGE", 2)  # five incidents: three pages
    marks = calls_of(monkeypatch, Reconcile, "mark_stale_if_silent")
    reconciler = Reconciler(
        client.app[SERVICE],
        AlertmanagerClient(http, None),
        client.app[METRICS],
        alertmanager_url="http://127.0.0.1:1",  # a closed port: Alertmanager out of reach
        restart_grace=timedelta(minutes=5),
        inbox_retention=timedelta(0),
        clock=clock,
    )

    await reconciler.run_once()  # all just heard of: nothing to write
    assert marks == []
    clock.advance(hours=4, seconds=1)
    await reconciler.run_once()
    assert sorted(incident_id for (incident_id,) in marks) == sorted(incident_ids)  # all pages
    for incident_id in incident_ids:
        response = await client.get(f"/api/v1/incidents/{incident_id}")
        assert (await response.json())["status"] == "stale"
    await reconciler.run_once()  # stale already: nothing more
    assert len(marks) == len(incident_ids)
