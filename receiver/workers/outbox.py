"""The background sender: claims due outbox rows, sends them, records the platform's answer.

Sending happens after the change's commit, so a slow or failing platform never touches a
webhook's answer. Each row is claimed with a lease by one replica at a time (a
conditional UPDATE), so with several replicas each message goes out once; a replica that
dies mid-send leaves a lease that expires and another replica retries the row.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp
import structlog

from receiver.config.notify import NotifySettings
from receiver.metrics import Metrics
from receiver.notify.delivery import backoff, deliver, rate_of
from receiver.notify.message import Message
from receiver.notify.platforms import ChannelKind, Outcome
from receiver.store import Database, Repository
from receiver.store.outbox import OutboxItem
from receiver.workers.background import BackgroundPass

log = structlog.get_logger(__name__)

RATE_WINDOW = timedelta(minutes=1)
# limits per second besides the per-minute ones: Feishu 5 a second, Slack about 1
MIN_SPACING_SECONDS = {ChannelKind.FEISHU: 0.2, ChannelKind.SLACK: 1.0}


class Sender(BackgroundPass):
    name = "notify"

    def __init__(
        self,
        db: Database,
        settings: NotifySettings,
        metrics: Metrics,
        session: aiohttp.ClientSession,
        *,
        clock: Callable[[], datetime],
        lease: timedelta = timedelta(minutes=2),
        batch: int = 100,
        wake: asyncio.Event | None = None,
    ) -> None:
        super().__init__(wake)
        self.db = db
        self.settings = settings
        self.metrics = metrics
        self.session = session
        self.clock = clock
        self.lease = lease
        self.batch = batch
        # unique per process, readable in the table when debugging a stuck row
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{id(self) % 10_000}"

    async def run_once(self) -> int:
        """Send what is due, each channel in order and within its rate; how many were sent."""
        now = self.clock()
        async with self.db.read() as repo:
            due = await repo.outbox.due(now, self.batch)
            self.metrics.notify_queue.set(await repo.outbox.pending_count())
        by_channel: dict[str, list[OutboxItem]] = defaultdict(list)
        for item in due:
            by_channel[item.channel].append(item)
        sent = await asyncio.gather(
            *(self._send_channel(name, items) for name, items in by_channel.items())
        )
        return sum(sent)

    async def _send_channel(self, name: str, items: list[OutboxItem]) -> int:
        channel = self.settings.channel(name)
        now = self.clock()
        if channel is None:
            for item in items:  # the channel was removed from the config since
                if await self._claim(item, now):
                    await self._finish(
                        item, Outcome(False, f"channel {name} is not configured"), give_up=True
                    )
            return 0
        async with self.db.read() as repo:
            recent = await repo.outbox.sent_since(name, now - RATE_WINDOW)
        budget = max(0, rate_of(channel) - recent)  # the rest waits: queued, not dropped
        sent = 0
        spacing = MIN_SPACING_SECONDS.get(ChannelKind(channel.type), 0.0)
        for position, item in enumerate(items[:budget]):
            if position and spacing:
                await asyncio.sleep(spacing)
            now = self.clock()
            if not await self._claim(item, now):
                continue  # another replica has it
            started = time.perf_counter()
            outcome = await deliver(
                self.session,
                channel,
                Message.from_json(item.message),
                now,
                self.settings.send_timeout,
            )
            self.metrics.notify_seconds.labels(channel=name).observe(time.perf_counter() - started)
            give_up = self.clock() - item.created_at >= self.settings.give_up_after
            await self._finish(item, outcome, give_up=give_up)
            sent += outcome.ok
        return sent

    async def _claim(self, item: OutboxItem, now: datetime) -> bool:
        owner, lease = self.owner, self.lease

        async def job(repo: Repository) -> bool:
            return await repo.outbox.claim(item.id, owner, now, lease)

        return await self.db.run_write(job)

    async def _finish(self, item: OutboxItem, outcome: Outcome, *, give_up: bool) -> None:
        now, owner = self.clock(), self.owner
        attempts = item.attempts + 1
        fields = {"channel": item.channel, "kind": item.event, "incident_id": item.incident_id}
        if outcome.ok:
            result = "sent"
        elif give_up:
            result = "failed"
        else:
            result = "retry"

        async def job(repo: Repository) -> None:
            if result == "sent":
                await repo.outbox.mark_sent(item.id, owner, now)
            elif result == "failed":
                await repo.outbox.mark_failed(item.id, owner, outcome.detail, now)
            else:
                retry_at = now + backoff(attempts, outcome.retry_after)
                await repo.outbox.mark_retry(item.id, owner, outcome.detail, retry_at)

        await self.db.run_write(job)
        self.metrics.notifications.labels(channel=item.channel, result=result).inc()
        if result == "sent":
            log.info("notify.sent", attempts=attempts, **fields)
        elif result == "failed":
            log.error("notify.gave_up", attempts=attempts, error=outcome.detail, **fields)
        else:
            log.warning("notify.retry", attempts=attempts, error=outcome.detail, **fields)
