"""End to end: a resolve Alertmanager merged still closes the open episode.

Alertmanager keeps one alert per fingerprint. An alert posted with an activity range
that overlaps the one it holds is merged into it, keeping the earlier startsAt
(`Alert.Merge`). So after fire → resolve → fire again, a sender posting the old episode
and the new one as resolved makes Alertmanager notify a resolve that carries the OLD
startsAt with an endsAt after the new episode began. The receiver must close the new
episode with it: one incident, recovered again, revision 2, one 告警再次触发 row.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.processes import (
    Service,
    get_json,
    kinds,
    payments_alerts,
    poll,
    post_alerts,
    rfc3339,
)

pytestmark = pytest.mark.e2e
WAIT = 20.0


def one_alert(starts_at: datetime, ends_at: datetime) -> list[dict[str, Any]]:
    return payments_alerts(starts_at, ends_at)[:1]


def stored_webhooks(database: Path) -> list[dict[str, Any]]:
    """The webhook bodies as the receiver stored them, read from its SQLite file."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT body FROM inbox WHERE kind = 'alertmanager' ORDER BY id")
        return [json.loads(body) for (body,) in rows]


async def test_a_merged_resolve_closes_the_reopened_episode(
    http: aiohttp.ClientSession, receiver: Service, alertmanager: Service, tmp_path: Path
) -> None:
    api = f"{receiver.base_url}/api/v1"

    async def incident_when(status: str, drafts: int) -> dict[str, Any] | None:
        listing = await get_json(http, f"{api}/incidents")
        if listing["total"] != 1:
            return None
        found: dict[str, Any] = await get_json(
            http, f"{api}/incidents/{listing['incidents'][0]['id']}"
        )
        return found if found["status"] == status and len(found["drafts"]) == drafts else None

    first = datetime.now(UTC) - timedelta(seconds=30)
    await post_alerts(http, alertmanager, one_alert(first, first + timedelta(hours=1)))
    await poll("the incident firing", lambda: incident_when("firing", 0), WAIT)
    first_end = datetime.now(UTC)
    await post_alerts(http, alertmanager, one_alert(first, first_end))
    await poll("the first recovery's draft", lambda: incident_when("drafted", 1), WAIT)

    # fires again inside the reopen window: a new episode, a new startsAt
    second = datetime.now(UTC)
    await post_alerts(http, alertmanager, one_alert(second, second + timedelta(hours=1)))
    await poll("the incident reopened", lambda: incident_when("firing", 1), WAIT)

    # the old and the new episode posted as resolved in one call: Alertmanager merges
    # them into one alert with the old startsAt and an endsAt after the new start
    now = datetime.now(UTC)
    await post_alerts(http, alertmanager, one_alert(first, now) + one_alert(second, now))
    detail = await poll("the second recovery's draft", lambda: incident_when("drafted", 2), WAIT)

    merged = [
        alert
        for body in stored_webhooks(tmp_path / "receiver.db")
        for alert in body["alerts"]
        if alert["status"] == "resolved" and alert["endsAt"] > rfc3339(second)
    ]
    assert merged, "Alertmanager sent no resolve after the second firing"
    assert {alert["startsAt"][:19] for alert in merged} == {rfc3339(first)[:19]}, (
        "the scenario needs Alertmanager's merged resolve (old startsAt)"
    )
    assert [d["revision"] for d in detail["drafts"]] == [1, 2]
    assert len(kinds(detail, "refired")) == 1
    assert len(kinds(detail, "all_resolved")) == 2
    assert all(alert["status"] == "resolved" for alert in detail["alerts"])
    assert len(detail["alerts"]) == 2  # the two episodes, no third from the merge
