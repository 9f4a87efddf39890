"""End to end: the real Alertmanager binary notifies the real receiver over loopback.

Nothing is mocked. Alerts are posted to Alertmanager's v2 API; Alertmanager groups them
and sends its own webhooks (with a bearer token) to the receiver, which opens an
incident and, once every alert resolved, writes the draft postmortem.

Alertmanager's own API runs without authentication here: basic auth through
--web.config.file needs a bcrypt hash, and bcrypt is not installed in the test venv.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.processes import (
    PAYMENTS_DRAFT_NAME,
    PAYMENTS_INSTANCES,
    Service,
    get_json,
    get_text,
    kinds,
    payments_alerts,
    poll,
    post_alerts,
)

pytestmark = pytest.mark.e2e

# the longest shared prefix of the three summaries "payments P99 延迟过高 (10.0.2.1x)"
SUMMARY = "payments P99 延迟过高"
INSTANCE_COUNT = "（3 个实例）"


# -- the test ----------------------------------------------------------------------------


async def test_alertmanager_fires_and_resolves_into_a_draft(
    http: aiohttp.ClientSession,
    receiver: Service,
    alertmanager: Service,
    tmp_path: Path,
) -> None:
    api = f"{receiver.base_url}/api/v1"

    # auth really is on: the endpoint Alertmanager posts to refuses a missing or wrong token
    for headers in ({}, {"Authorization": "Bearer wrong-token"}):
        async with http.post(f"{api}/alerts", json={"version": "4"}, headers=headers) as response:
            assert response.status == 401, headers

    started = datetime.now(UTC).replace(microsecond=0)
    await post_alerts(http, alertmanager, payments_alerts(started, started + timedelta(hours=1)))

    async def one_incident_three_firing() -> dict[str, Any] | None:
        listing = await get_json(http, f"{api}/incidents")
        if listing["total"] != 1:
            return None
        first_id = listing["incidents"][0]["id"]
        detail: dict[str, Any] = await get_json(http, f"{api}/incidents/{first_id}")
        firing = [alert for alert in detail["alerts"] if alert["status"] == "firing"]
        return detail if len(firing) == 3 else None

    detail = await poll("one incident with 3 firing alerts", one_incident_three_firing, 20)
    incident_id = detail["id"]
    assert detail["title"] == SUMMARY  # the draft's template adds the instance count
    assert detail["priority"] == "P2"
    assert detail["status"] == "firing"
    assert detail["service"] == "payments"
    assert sorted(alert["labels"]["instance"] for alert in detail["alerts"]) == list(
        PAYMENTS_INSTANCES
    )
    fired = kinds(detail, "alert_fired")
    assert len(fired) == 3
    assert {row["phase"] for row in fired} == {"detect"}
    assert sorted(row["subject"] for row in fired) == list(PAYMENTS_INSTANCES)
    assert len(kinds(detail, "incident_opened")) == 1
    assert detail["drafts"] == []

    # an endsAt of now resolves the alerts in Alertmanager; startsAt stays the same
    await post_alerts(http, alertmanager, payments_alerts(started, datetime.now(UTC)))

    async def drafted() -> dict[str, Any] | None:
        found: dict[str, Any] = await get_json(http, f"{api}/incidents/{incident_id}")
        return found if found["status"] == "drafted" else None

    detail = await poll("the incident to be drafted", drafted, 20)
    assert [alert["status"] for alert in detail["alerts"]] == ["resolved"] * 3
    assert all(alert["ends_at"] for alert in detail["alerts"])
    resolved_rows = kinds(detail, "alert_resolved")
    assert len(resolved_rows) == 3
    assert {row["phase"] for row in resolved_rows} == {"recover"}
    all_resolved = kinds(detail, "all_resolved")
    assert len(all_resolved) == 1
    assert all_resolved[0]["phase"] == "recover"
    listing = await get_json(http, f"{api}/incidents")
    assert listing["total"] == 1, "the resolve must not open a second incident"

    assert len(detail["drafts"]) == 1
    file_name = detail["drafts"][0]["file_name"]
    assert PAYMENTS_DRAFT_NAME.match(file_name), file_name
    draft_path = tmp_path / "drafts" / file_name

    # the file is written right after the transaction that marks the incident drafted
    async def draft_file() -> str | None:
        return draft_path.read_text(encoding="utf-8") if draft_path.exists() else None

    content = await poll(f"draft file {draft_path}", draft_file, 5)
    assert f"\n# 事故后分析：{SUMMARY}{INSTANCE_COUNT}\n" in content
    assert "监控告警触发" in content
    assert "监控确认" in content
    for instance in PAYMENTS_INSTANCES:
        assert instance in content
    assert f"({alertmanager.base_url}/#/alerts?receiver=incident-webhook&" in content
    assert content == await get_text(http, f"{api}/incidents/{incident_id}/postmortem.md")
