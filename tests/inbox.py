"""Webhooks are applied behind their 202 (issue 18): waiting for an inbox entry to be
applied, and reading what it did, for the tests that look at a webhook's effects."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from receiver.usecases.apply_inbox import BatchReport
from receiver.usecases.service import IncidentService

# a client for real processes, or the in-process app's
Getter = aiohttp.ClientSession | TestClient[Any, Any]


async def inbox_entry(
    client: Getter, inbox_id: int, *, base: str = "", headers: dict[str, str] | None = None
) -> dict[str, Any]:
    async with client.get(f"{base}/api/v1/inbox/{inbox_id}", headers=headers or {}) as response:
        assert response.status == 200, f"inbox {inbox_id}: {await response.text()}"
        entry: dict[str, Any] = await response.json()
        return entry


async def wait_applied(
    client: Getter,
    accepted: dict[str, Any],
    *,
    base: str = "",
    headers: dict[str, str] | None = None,
    seconds: float = 15.0,
    state: str | None = None,
) -> dict[str, Any]:
    """The entry of a 202 answer once no longer pending (applied, refused, quarantined:
    `state` when given); fails after `seconds`."""
    assert accepted.get("status") == "accepted", accepted
    assert "inbox_id" in accepted, accepted
    try:
        async with asyncio.timeout(seconds):
            while True:
                entry = await inbox_entry(client, accepted["inbox_id"], base=base, headers=headers)
                if entry["state"] != "pending":
                    assert state is None or entry["state"] == state, entry
                    return entry
                await asyncio.sleep(0.05)
    except TimeoutError:
        pass
    raise AssertionError(f"inbox entry {accepted['inbox_id']} not applied in {seconds}s")


async def applied(
    client: Getter,
    accepted: dict[str, Any],
    *,
    base: str = "",
    headers: dict[str, str] | None = None,
    seconds: float = 15.0,
) -> dict[str, Any]:
    """What the webhook did, with the fields its answer carried before issue 18: status
    (accepted, duplicate), incident_id, created, draft_revision, incident_status (the
    incident's status now) and `code`, the status code it would have had (201, 200)."""
    entry = await wait_applied(client, accepted, base=base, headers=headers, seconds=seconds)
    assert entry["state"] == "applied", entry
    incident_id = entry["incident_id"]
    url = f"{base}/api/v1/incidents/{incident_id}"
    async with client.get(url, headers=headers or {}) as response:
        assert response.status == 200, await response.text()
        incident = await response.json()
    return {
        "status": "duplicate" if entry["outcome"] == "unchanged" else "accepted",
        "incident_id": incident_id,
        "created": entry["created"],
        "draft_revision": entry["draft_revision"],
        "incident_status": incident["status"],
        "code": 201 if entry["created"] else 200,
        "entry": entry,
    }


async def post_applied(
    client: Getter,
    url: str,
    body: str | bytes,
    *,
    base: str = "",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST a webhook, expect 202, and return what it did once applied (see `applied`)."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    async with client.post(url, data=body, headers=all_headers) as response:
        text = await response.text()
        assert response.status == 202, f"{response.status}: {text}"
        accepted = await response.json()
    return await applied(client, accepted, base=base, headers=headers)


def applied_sync(
    base_url: str,
    accepted: dict[str, Any],
    headers: dict[str, str] | None = None,
    seconds: float = 15.0,
) -> dict[str, Any]:
    """`applied` for tests that use urllib: the old answer's fields, once applied."""
    assert accepted.get("status") == "accepted", accepted
    deadline = time.monotonic() + seconds
    while True:
        entry = _get_sync(f"{base_url}/api/v1/inbox/{accepted['inbox_id']}", headers)
        if entry["state"] != "pending":
            break
        assert time.monotonic() < deadline, f"inbox entry {accepted['inbox_id']} not applied"
        time.sleep(0.02)
    assert entry["state"] == "applied", entry
    incident = _get_sync(f"{base_url}/api/v1/incidents/{entry['incident_id']}", headers)
    return {
        "status": "duplicate" if entry["outcome"] == "unchanged" else "accepted",
        "incident_id": entry["incident_id"],
        "created": entry["created"],
        "draft_revision": entry["draft_revision"],
        "incident_status": incident["status"],
        "code": 201 if entry["created"] else 200,
        "entry": entry,
    }


def _get_sync(url: str, headers: dict[str, str] | None) -> dict[str, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        body: dict[str, Any] = json.load(response)
        return body


async def drained(
    client: Getter, *, base: str = "", headers: dict[str, str] | None = None, seconds: float = 30
) -> None:
    """Wait until nothing accepted is left to apply (the backlog gauge of /metrics)."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                async with client.get(f"{base}/metrics", headers=headers or {}) as response:
                    text = await response.text()
                if "\npostmortem_receiver_inbox_backlog 0.0\n" in text:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        pass
    raise AssertionError(f"the inbox's backlog did not drain in {seconds}s")


async def apply_all(service: IncidentService, *, batches: int = 100) -> BatchReport:
    """Apply every pending entry, batch after batch, as the applier does: a batch on SQLite
    stops taking entries after BATCH_SECONDS, which a busy machine reaches. The reports
    summed; stops at a failure."""
    total = BatchReport()
    for _ in range(batches):
        report = await service.apply_inbox.batch(100)
        total.applied += report.applied
        total.quarantined.extend(report.quarantined)
        total.failed = report.failed
        if not report.full or report.failed is not None:
            return total
    raise AssertionError(f"the inbox was not applied in {batches} batches")
