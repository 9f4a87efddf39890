"""The pass that queues action item reminders and weekly digests (issue 21) every
RECEIVER_ACTION_REMINDER_INTERVAL; the outbox's sender delivers them."""

from __future__ import annotations

import structlog

from receiver.usecases.reminders import Reminders
from receiver.workers.background import BackgroundPass

log = structlog.get_logger(__name__)


class ReminderPass(BackgroundPass):
    name = "reminders"

    def __init__(self, reminders: Reminders) -> None:
        super().__init__()
        self.reminders = reminders

    async def run_once(self) -> int:
        queued = await self.reminders.run()
        if queued:
            log.info("reminders.queued", messages=queued)
        return queued
