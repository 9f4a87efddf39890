"""The applier's pause for the accept path (issue 18): while webhooks keep arriving it
waits nine times as long as its last batch took, and stops waiting once they stop. A
storm's long batch had asked for seconds of pause, which the backlog waited out after
the last webhook had long been accepted."""

from __future__ import annotations

import asyncio
import time

from receiver.usecases.service import IncidentService
from receiver.workers import applier as applier_module
from receiver.workers.applier import Applier


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
