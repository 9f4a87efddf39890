"""The applier's pause for the accept path (issue 18): while webhooks keep arriving it
waits nine times as long as its last batch took, and stops waiting once they stop. A
storm's long batch had asked for seconds of pause, which the backlog waited out after
the last webhook had long been accepted.

And its gathering: while webhooks stream in it lets a batch's worth gather before it
applies. An applier that kept up a few entries at a time paid a whole transaction for
each few, and the accept path ran at half its speed."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from receiver.usecases import apply_inbox
from receiver.usecases.service import IncidentService
from receiver.workers import applier as applier_module
from receiver.workers.applier import Applier
from tests.conftest import as_group, capture


async def test_the_pause_ends_once_webhooks_stop_arriving(service: IncidentService) -> None:
    applier = Applier(service)
    service.accept.last_at = time.monotonic()  # a webhook was just accepted
    started = time.monotonic()
    # a 10 s batch asks for a 90 s pause while webhooks arrive; none comes after this one
    await asyncio.wait_for(applier._yield(10.0), timeout=30)
    waited = time.monotonic() - started
    assert applier_module.BUSY_SECONDS <= waited < 30


async def test_the_pause_lasts_while_webhooks_keep_arriving(service: IncidentService) -> None:
    applier = Applier(service)
    stop = asyncio.Event()

    async def arriving() -> None:  # a webhook every 20 ms until told to stop
        while not stop.is_set():
            service.accept.last_at = time.monotonic()
            await asyncio.sleep(0.02)

    keeper = asyncio.create_task(arriving())
    try:
        started = time.monotonic()
        await asyncio.wait_for(applier._yield(0.05), timeout=30)  # asks for 0.45 s
        waited = time.monotonic() - started
    finally:
        stop.set()
        await keeper
    assert waited >= 0.05 * applier_module.YIELD


def gathering_applier(
    service: IncidentService, monkeypatch: pytest.MonkeyPatch, gap: float = 60.0
) -> Applier:
    """An applier that sees a stream until webhooks pause for `gap`, whose gathering
    ends only by that pause or a manual event, rung by every append as the app rings it."""
    monkeypatch.setattr(applier_module, "STREAM_GAP", gap)
    monkeypatch.setattr(applier_module, "GATHER_SECONDS", 60.0)
    # and a batch not cut short by its time bound on a slow machine
    monkeypatch.setattr(apply_inbox, "BATCH_SECONDS", {True: 60.0, False: 60.0})
    applier = Applier(service)
    service.accept.appended = applier.wake
    return applier


async def test_while_webhooks_stream_in_a_batch_gathers_until_they_pause(
    service: IncidentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Applying runs on the event loop: while a burst arrives it waits, so that the
    burst's requests are not held up behind it, and then applies the lot together."""
    # a pause of a second ends the stream: appends here come within milliseconds
    applier = gathering_applier(service, monkeypatch, gap=1.0)
    body = capture("firing_single")
    sizes: list[int] = []
    accepted_before: list[int] = []  # how many the burst had sent when each batch began
    accepted = 0
    batch = service.apply_inbox.batch

    async def counted(limit: int) -> object:
        accepted_before.append(accepted)
        report = await batch(limit)
        sizes.append(report.applied)
        return report

    monkeypatch.setattr(service.apply_inbox, "batch", counted)
    burst = applier_module.BATCH_SIZE + 10  # more than a batch's worth
    for tag in range(2):
        await service.accept("alertmanager", json.dumps(as_group(body, tag)), None)
        accepted += 1
    applying = asyncio.create_task(applier.run_once())  # two waiting: it gathers
    for tag in range(2, burst):
        await service.accept("alertmanager", json.dumps(as_group(body, tag)), None)
        accepted += 1
    await asyncio.wait_for(applying, timeout=30)
    # nothing was applied while the burst arrived, not even once a batch's worth waited;
    # then a full batch's worth, not the two that were there at first
    assert accepted_before[0] == burst
    assert sizes[0] == applier_module.BATCH_SIZE


async def test_a_manual_event_ends_the_gathering(
    service: IncidentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    applier = gathering_applier(service, monkeypatch)
    body = capture("firing_single")
    for tag in range(2):
        await service.accept("alertmanager", json.dumps(as_group(body, tag)), None)
    gathering = asyncio.create_task(applier._gather())
    # somebody waits for an event's answer: the applier applies what is there now
    event = {"kind": "note", "service": "checkout", "message": "looking at it"}
    await service.accept("event", json.dumps(event), None)
    await asyncio.wait_for(gathering, timeout=30)
    assert service.accept.waiting == 3


async def test_a_lone_webhook_is_applied_without_gathering(
    service: IncidentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a gathering would wait a minute: a lone webhook must not wait for it
    monkeypatch.setattr(applier_module, "GATHER_SECONDS", 60.0)
    applier = Applier(service)
    await service.accept("alertmanager", json.dumps(capture("firing_single")), None)
    service.accept.previous_at = time.monotonic() - 60  # the one before came long ago
    assert await asyncio.wait_for(applier.run_once(), timeout=30) == 1


async def test_a_batch_ends_soon_once_a_webhook_arrives_and_the_rest_follows(
    service: IncidentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Applying runs on the event loop: a webhook that arrives mid-batch (a storm's next
    wave) waited out the whole batch, up to its time bound (250 ms on PostgreSQL)."""
    monkeypatch.setattr(apply_inbox, "BATCH_SECONDS", {True: 60.0, False: 60.0})
    monkeypatch.setattr(apply_inbox, "BUSY_BATCH_SECONDS", 0.0)
    body = capture("firing_single")
    for tag in range(20):
        await service.accept("alertmanager", json.dumps(as_group(body, tag)), None)
    applied: list[int] = []
    apply = service.apply_inbox._apply

    async def arriving_after_the_third(*args: Any) -> bool:
        done = await apply(*args)
        applied.append(1)
        if len(applied) == 3:
            service.accept.arriving()  # what the webhook route does as a request begins
        return done

    monkeypatch.setattr(service.apply_inbox, "_apply", arriving_after_the_third)
    first = await service.apply_inbox.batch(64)
    assert (first.applied, first.full) == (3, True)
    # with no webhook arriving, the next batch applies the rest
    second = await service.apply_inbox.batch(64)
    assert (second.applied, second.full) == (17, False)
    assert service.accept.waiting == 0


async def test_a_batch_takes_about_take_bytes_of_bodies(
    service: IncidentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A storm's 64 hundred-alert bodies (5 MB) were moved and read before the first was
    applied, holding the event loop all the while."""
    monkeypatch.setattr(apply_inbox, "BATCH_SECONDS", {True: 60.0, False: 60.0})
    bodies = [json.dumps(as_group(capture("firing_group_3"), tag)) for tag in range(12)]
    for text in bodies:
        await service.accept("alertmanager", text, None)
    # room for five bodies of this size per batch
    monkeypatch.setattr(apply_inbox, "TAKE_BYTES", 5 * len(bodies[0].encode()) + 10)
    sizes = [(await service.apply_inbox.batch(64)).applied for _ in range(4)]
    assert sizes == [5, 5, 2, 0]
