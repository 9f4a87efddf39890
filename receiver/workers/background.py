"""Background passes (the chat sender, the evidence fetcher): run every so often, or at
once when a commit says there is work; a database outage skips a pass, never the loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from receiver.store import StoreUnavailable

log = structlog.get_logger(__name__)


class BackgroundPass:
    name = "background"

    def __init__(self, wake: asyncio.Event | None = None) -> None:
        # given by the owner when others must ring it before the pass exists
        self._wake = wake or asyncio.Event()

    def wake(self) -> None:
        """Work was committed: run the pass now rather than at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        raise NotImplementedError

    async def run_forever(self, poll_interval: float) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except StoreUnavailable as exc:
                log.warning(f"{self.name}.store_unavailable", error=str(exc))
            # asyncio.timeout rather than wait_for, which wraps the wait in a task of its
            # own: the applier is woken by every accepted webhook
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll_interval):
                    await self._wake.wait()


@contextlib.asynccontextmanager
async def running(work: BackgroundPass, poll_interval: float) -> AsyncIterator[None]:
    """Run the pass for the duration of the block; stop it when the block ends."""
    task = asyncio.create_task(work.run_forever(poll_interval))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
