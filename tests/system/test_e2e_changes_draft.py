"""End to end with the real Alertmanager: changes in the draft.

1. Flux tells (signed with its generic-hmac Provider's X-Signature) of a Kustomization
   prod/payments reconciled 10 minutes before the alerts start, and of a Kustomization
   search/search reconciled 3 minutes before them: closer, but elsewhere;
2. three payments alerts go to Alertmanager, which delivers them;
3. wangwu rolls payments back while they fire, told by hand (POST /api/v1/changes/manual);
4. the alerts resolve: Alertmanager sends the resolve, the receiver writes the draft.

The draft names the payments change in 直接原因 as 候选（待确认） with the 【待填写】 kept,
lists it in 变更记录, leaves the search change out, and makes the rollback a 处理阶段
row with its actor. Nothing is mocked; the receiver's SQLite file is real.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import REPO
from tests.processes import (
    AUTH,
    Service,
    alertmanager_binary,
    get_json,
    get_text,
    payments_alerts,
    poll,
    post_alerts,
    start_alertmanager,
    start_receiver,
)
from tests.system.test_e2e_silences import WAIT, Rig, fire_and_wait

pytestmark = pytest.mark.e2e

FLUX_KEY = "e2e-flux-hmac-key"
FLUX_EVENT = REPO / "tests" / "fixtures" / "changes" / "flux" / "kustomization-reconciled.json"


def flux_event(name: str, namespace: str, at: datetime, revision: str) -> bytes:
    """The fixture's Kustomization event, for this object, time and revision."""
    event: dict[str, Any] = json.loads(FLUX_EVENT.read_text(encoding="utf-8"))
    event["involvedObject"].update(name=name, namespace=namespace, uid=f"uid-{name}")
    event["metadata"]["kustomize.toolkit.fluxcd.io/revision"] = revision
    event["timestamp"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(event).encode()


async def post_flux(http: aiohttp.ClientSession, receiver: Service, body: bytes) -> None:
    signature = hmac.new(FLUX_KEY.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Signature": f"sha256={signature}"}
    url = f"{receiver.base_url}/api/v1/changes/flux"
    async with http.post(url, data=body, headers=headers) as response:
        assert response.status == 202, await response.text()


async def changes_of(
    http: aiohttp.ClientSession, receiver: Service, service: str, count: int
) -> dict[str, Any] | None:
    found = await get_json(http, f"{receiver.base_url}/api/v1/changes?service={service}")
    return found if len(found["changes"]) == count else None


@pytest.fixture
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Rig:
    alertmanager_binary()  # skip before starting anything when Alertmanager is missing
    receiver, _ = start_receiver(
        request,
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'receiver.db'}",
        extra_env={"RECEIVER_CHANGES_FLUX_SECRET": FLUX_KEY, "RECEIVER_TIMEZONE": "UTC"},
    )
    alertmanager = start_alertmanager(request, tmp_path, receiver.base_url)
    return Rig(receiver, alertmanager, alertmanager.base_url)


def hms(moment: datetime) -> str:
    """The draft's time of `moment` as a pattern: with the date when the incident's rows
    span midnight (UTC)."""
    return r"(?:\d\d-\d\d )?" + moment.astimezone(UTC).strftime("%H:%M:%S")


async def test_the_change_before_the_alerts_is_the_candidate_and_the_rollback_a_row(
    rig: Rig,
) -> None:
    receiver = rig.receiver
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    deployed = started - timedelta(minutes=10)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        await post_flux(http, receiver, flux_event("payments", "prod", deployed, "main@sha1:aa11"))
        elsewhere = started - timedelta(minutes=3)
        await post_flux(http, receiver, flux_event("search", "search", elsewhere, "main@sha1:bb22"))
        await poll("the payments change", lambda: changes_of(http, receiver, "payments", 1), WAIT)
        await poll("the search change", lambda: changes_of(http, receiver, "search", 1), WAIT)

        incident_id = (await fire_and_wait(http, rig, started))["id"]
        rolled_back = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        rollback = {
            "service": "payments",
            "type": "rollback",
            "what": "回滚 payments-api 到 main@sha1:9f00",
            "from": "main@sha1:aa11",
            "version": "main@sha1:9f00",
            "by": "wangwu",
            "at": rolled_back.isoformat(),
        }
        url = f"{receiver.base_url}/api/v1/changes/manual"
        async with http.post(url, json=rollback, headers=AUTH) as response:
            assert response.status == 202, await response.text()
        await poll("the rollback", lambda: changes_of(http, receiver, "payments", 2), WAIT)

        ends = datetime.now(UTC)
        await post_alerts(http, rig.alertmanager, payments_alerts(started, ends))
        api = f"{receiver.base_url}/api/v1/incidents/{incident_id}"

        async def drafted() -> dict[str, Any] | None:
            found: dict[str, Any] = await get_json(http, api)
            return found if found["status"] == "drafted" else None

        await poll("the resolve and the draft", drafted, WAIT)
        markdown = await get_text(http, f"{api}/postmortem.md")

    cause = markdown.split("### 直接原因\n", 1)[1].split("\n### ", 1)[0]
    assert "【待填写：直接原因，例如某次配置变更或发布】" in cause
    candidates = [line for line in cause.splitlines() if line.startswith("- 候选（待确认）：")]
    assert candidates, cause
    assert re.match(rf"- 候选（待确认）：{hms(deployed)} payments 发布：", candidates[0])
    assert "首条告警前 10 分 0 秒" in candidates[0]
    assert "search" not in cause

    listed = markdown.split("**变更记录**", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in listed.splitlines() if re.match(rf"\| {hms(deployed)} \|", line)]
    assert len(rows) == 1
    assert "| Flux | payments |" in rows[0]
    assert "候选 1（待确认）" in rows[0]
    assert "search" not in listed  # it shares no label with the alerts

    handling = markdown.split("### 处理阶段\n", 1)[1].split("\n### ", 1)[0]
    [row] = [line for line in handling.splitlines() if "故障三板斧 - 回滚" in line]
    assert re.match(rf"\| {hms(rolled_back)} \| 故障三板斧 - 回滚 \| wangwu \| 变更记录", row), row
    assert "| 未记录 | 故障三板斧 - 回滚 |" not in handling
