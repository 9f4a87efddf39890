"""Issue 18: an inbox entry whose application keeps failing is retried with a pause, then
quarantined; the entries behind it, of the same incident key too, go on; once the cause is
fixed, `inbox retry` applies it. It shows in /metrics, /readyz's detail, the list page
and `postmortem-receiver inbox`.

The failure is the database's own: a trigger refuses one alert's row, as a constraint
added by hand or a damaged table would. Dropping the trigger is the fix."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from receiver.store import Repository
from receiver.web.keys import DATABASE
from tests.conftest import REPO, Clock, capture
from tests.http.test_review import log_in
from tests.inbox import applied, wait_applied

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
JSON = {"Content-Type": "application/json"}
POISONED = "00000000000000ff"  # the fingerprint the trigger refuses

SQLITE_TRIGGER = (
    "CREATE TRIGGER poison BEFORE INSERT ON episodes "
    f"WHEN NEW.fingerprint = '{POISONED}' "
    "BEGIN SELECT RAISE(ABORT, 'refused by the poison trigger'); END"
)
POSTGRES_TRIGGER = [
    "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF NEW.fingerprint = '{POISONED}' THEN "
    "RAISE EXCEPTION USING ERRCODE = '23514', MESSAGE = 'refused by the poison trigger'; "
    "END IF; RETURN NEW; END $$",
    "CREATE TRIGGER poison BEFORE INSERT ON episodes FOR EACH ROW EXECUTE FUNCTION poison()",
]


async def execute(client: TestClient[Any, Any], statements: list[str]) -> None:
    async def job(repo: Repository) -> None:
        for statement in statements:
            await repo.conn.execute(sa.text(statement))

    await client.app[DATABASE].run_write(job)


async def poison(client: TestClient[Any, Any]) -> None:
    sqlite = client.app[DATABASE].is_sqlite
    await execute(client, [SQLITE_TRIGGER] if sqlite else POSTGRES_TRIGGER)


async def cure(client: TestClient[Any, Any]) -> None:
    sqlite = client.app[DATABASE].is_sqlite
    await execute(
        client,
        ["DROP TRIGGER poison"] if sqlite else ["DROP TRIGGER poison ON episodes"],
    )


def firing(*fingerprints: str) -> dict[str, Any]:
    """firing_group_3 with these alerts (its first alert, fingerprint changed)."""
    body = capture("firing_group_3")
    first = body["alerts"][0]
    body["alerts"] = []
    for number, fingerprint in enumerate(fingerprints):
        alert = json.loads(json.dumps(first))
        alert["fingerprint"] = fingerprint
        alert["labels"]["instance"] = f"10.0.9.{number}:9100"
        body["alerts"].append(alert)
    return body


async def post(client: TestClient[Any, Any], body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/alerts", data=json.dumps(body), headers=JSON)
    assert response.status == 202, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RECEIVER_")}
    env |= {
        "PYTHONPATH": str(REPO),
        "RECEIVER_DATABASE_URL": settings.database_url,
        "RECEIVER_LANGUAGE": settings.language,
        "RECEIVER_LOG_LEVEL": "warning",
    }
    return subprocess.run(
        [sys.executable, "-m", "receiver", "inbox", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_a_poison_entry_is_quarantined_the_rest_go_on_and_a_retry_applies_it(
    aiohttp_client: ClientFactory,
    make_settings: Callable[..., Settings],
    clock: Clock,
    language: str,
) -> None:
    settings = make_settings(inbox_max_attempts=2, language=language, auth_token="t0ken")
    auth = {"Authorization": "Bearer t0ken"}
    client = await aiohttp_client(create_app(settings, clock=clock))
    await poison(client)

    # the group fires with a good alert and the poisoned one; then only the good alert
    # fires again (the same group: the same incident key) and a later alert joins it
    bad = await post_with(client, auth, firing("00000000000000a1", POISONED))
    clock.advance(seconds=10)
    good = await post_with(client, auth, firing("00000000000000a1"))
    clock.advance(seconds=10)
    later = await post_with(client, auth, firing("00000000000000a1", "00000000000000a2"))

    quarantined = await wait_applied(client, bad, headers=auth, state="quarantined")
    assert (quarantined["attempts"], quarantined["incident_id"]) == (2, None)
    assert "refused by the poison trigger" in quarantined["error"]
    opened = await applied(client, good, headers=auth)
    joined = await applied(client, later, headers=auth)
    assert opened["created"] is True
    assert joined["incident_id"] == opened["incident_id"]
    detail = await (
        await client.get(f"/api/v1/incidents/{opened['incident_id']}", headers=auth)
    ).json()
    assert {a["fingerprint"] for a in detail["alerts"]} == {"00000000000000a1", "00000000000000a2"}

    # seen: metrics, readiness detail (ready all the same), the list page, the command
    metrics = await (await client.get("/metrics", headers=auth)).text()
    assert "\npostmortem_receiver_inbox_quarantined_total 1.0\n" in metrics
    assert "\npostmortem_receiver_inbox_in_quarantine 1.0\n" in metrics
    assert "\npostmortem_receiver_inbox_backlog 0.0\n" in metrics
    ready = await client.get("/readyz", headers=auth)
    assert ready.status == 200
    assert (await ready.json())["inbox"] == {"backlog": 0, "lag_seconds": 0, "quarantined": 1}
    await log_in(client, secret="t0ken")
    page = await (await client.get("/")).text()
    banner = "1 条通知已隔离" if language == "zh" else "1 notification quarantined"
    assert banner in page

    listed = await asyncio.to_thread(cli, settings, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith(f"#{bad['inbox_id']}\talertmanager\t")
    assert "refused by the poison trigger" in listed.stdout
    shown = await asyncio.to_thread(cli, settings, "show", str(bad["inbox_id"]))
    assert shown.returncode == 0, shown.stderr
    assert ("已隔离" if language == "zh" else "quarantined") in shown.stdout
    assert POISONED in shown.stdout  # the body
    refused = await asyncio.to_thread(cli, settings, "retry", str(good["inbox_id"]))
    assert refused.returncode == 1
    assert ("未被隔离" if language == "zh" else "is not quarantined") in refused.stderr

    # the fix, then the retry: applied to the incident its group has now
    await cure(client)
    retried = await asyncio.to_thread(cli, settings, "retry", str(bad["inbox_id"]))
    assert retried.returncode == 0, retried.stderr
    again = await applied(client, bad, headers=auth)
    assert again["incident_id"] == opened["incident_id"]
    detail = await (
        await client.get(f"/api/v1/incidents/{opened['incident_id']}", headers=auth)
    ).json()
    assert POISONED in {a["fingerprint"] for a in detail["alerts"]}
    metrics = await (await client.get("/metrics", headers=auth)).text()
    assert "\npostmortem_receiver_inbox_in_quarantine 0.0\n" in metrics
    listed = await asyncio.to_thread(cli, settings, "list")
    assert listed.stdout == ""
    assert ("没有隔离中的条目" if language == "zh" else "no quarantined entries") in listed.stderr


async def post_with(
    client: TestClient[Any, Any], auth: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post("/api/v1/alerts", data=json.dumps(body), headers={**JSON, **auth})
    assert response.status == 202, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def test_a_dropped_entry_is_gone_and_an_unknown_one_is_named(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    settings = make_settings(inbox_max_attempts=1)
    client = await aiohttp_client(create_app(settings, clock=clock))
    await poison(client)
    bad = await post(client, firing(POISONED))
    await wait_applied(client, bad, state="quarantined")
    dropped = await asyncio.to_thread(cli, settings, "drop", str(bad["inbox_id"]))
    assert dropped.returncode == 0, dropped.stderr
    response = await client.get(f"/api/v1/inbox/{bad['inbox_id']}")
    assert response.status == 404
    unknown = await asyncio.to_thread(cli, settings, "show", "999")
    assert unknown.returncode == 1
    assert "没有编号为 999 的收件箱条目" in unknown.stderr
