"""The inbox's applier: applies accepted entries behind the answers, in id order, and
tells whoever waits for one (a manual event's request) when it is done."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from receiver.store import InboxEntry, StoreUnavailable
from receiver.usecases.service import IncidentService
from receiver.workers.background import BackgroundPass

log = structlog.get_logger(__name__)

BATCH_SIZE = 64
# how often it looks for entries another replica accepted; this process's own wake it
POLL_SECONDS = 0.25
# while webhooks keep arriving (one within BUSY_SECONDS), the applier pauses after each
# batch for YIELD times as long as the batch took: accepting keeps nine tenths of the
# core (applying costs several times what accepting does, so an even share would cap
# accepting at the applier's pace), and the backlog, bounded by back-pressure, drains
# once the burst is over
BUSY_SECONDS = 0.1
YIELD = 9.0
# while webhooks stream in (two within STREAM_GAP), the applier waits for them to pause
# before it applies, up to GATHER_SECONDS: applying runs on the event loop, and one entry
# of a storm (a hundred alerts) holds it for tens of milliseconds, which every request
# arriving meanwhile waited out; and a batch of a few entries costs nearly what a full
# one does (its transaction, commit and reads), so what gathers meanwhile is applied
# together
STREAM_GAP = 0.05
GATHER_SECONDS = 1.0
# a failing entry is tried again after 0.25 s, 0.5 s, 1 s… (then quarantined)
_FIRST_BACKOFF = 0.25
_MAX_BACKOFF = 5.0


class Applier(BackgroundPass):
    name = "inbox"

    def __init__(self, service: IncidentService, wake: asyncio.Event | None = None) -> None:
        super().__init__(wake)
        self.service = service
        self._progress = asyncio.Event()  # set, and replaced, after every committed batch
        self._not_before = 0.0  # monotonic time before which a failed entry is not retried

    async def run_once(self) -> int:
        """Apply batches until the inbox is empty, a batch fails, or another replica holds
        the turn; how many entries were applied."""
        if time.monotonic() < self._not_before:
            return 0
        done = 0
        await self._gather()
        while True:
            started = time.monotonic()
            try:
                report = await self.service.apply_inbox.batch(BATCH_SIZE)
            except StoreUnavailable:
                raise  # logged by the loop, tried again at the next poll
            except Exception:
                # never the end of the applier: nothing would be applied any more
                log.exception("inbox.batch_failed")
                self._not_before = time.monotonic() + _MAX_BACKOFF
                return done
            done += report.applied
            self._announce()
            if report.failed is not None:
                backoff = min(_FIRST_BACKOFF * 2 ** (report.failed - 1), _MAX_BACKOFF)
                self._not_before = time.monotonic() + backoff
                return done
            if not report.full or not report.turn:
                return done
            await self._yield(time.monotonic() - started)

    async def _gather(self) -> None:
        """While webhooks stream in, wait (up to GATHER_SECONDS) until they pause; a
        manual event, which somebody waits for, ends the wait."""
        accept = self.service.accept
        events, until = accept.events, time.monotonic() + GATHER_SECONDS
        while accept.events == events:
            remaining = until - time.monotonic()
            if remaining <= 0 or not accept.streaming(STREAM_GAP):
                return
            self._wake.clear()  # rung by the next append
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, STREAM_GAP)):
                    await self._wake.wait()

    async def _yield(self, batch_seconds: float) -> None:
        """The accept path first: a pause while webhooks keep arriving, else a turn of the
        event loop. The pause ends early once they stop: a long batch (a storm's large
        entries) asked for seconds of it, which the backlog then waited out in vain."""
        until = time.monotonic() + batch_seconds * YIELD
        while True:
            # until the pause is over, or until BUSY_SECONDS pass without a webhook
            quiet_at = self.service.accept.last_at + BUSY_SECONDS
            pause = min(until, quiet_at) - time.monotonic()
            if pause <= 0:
                break
            await asyncio.sleep(pause)
        await asyncio.sleep(0)

    def _announce(self) -> None:
        progress, self._progress = self._progress, asyncio.Event()
        progress.set()

    async def wait_applied(self, entry_id: int, seconds: float) -> InboxEntry | None:
        """The entry once no longer pending (still pending after `seconds`); None if
        there is no such entry. Another
        replica may apply it: the store is asked again at least every POLL_SECONDS."""
        deadline = time.monotonic() + seconds
        while True:
            progress = self._progress
            entry = await self.service.queries.inbox_entry(entry_id)
            if entry is None or entry.state != "pending":
                return entry
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return entry
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(progress.wait(), min(remaining, POLL_SECONDS))
