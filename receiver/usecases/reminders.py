"""Action item reminders and the weekly digest (issue 21), queued in the outbox: the
sender delivers them like every chat message (one replica sends each, they survive
restarts). A reminder's key is claimed in the transaction that queues it, so one item
is reminded of at most once a day and a channel gets one digest a week, on any number
of replicas."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from receiver.config import Settings
from receiver.config.notify import NotifyEvent
from receiver.domain.action_items import ItemStatus, TrackedItem
from receiver.domain.incident import Incident
from receiver.domain.moments import in_zone
from receiver.domain.reminders import digest_key, reminders_due
from receiver.notify.reminders import digest_message, reminder_message
from receiver.notify.routing import channels_for, route_labels
from receiver.store import Repository
from receiver.store.action_items import ItemFilter
from receiver.store.outbox import NewMessage
from receiver.usecases.recording import Wakeup
from receiver.usecases.unit_of_work import UnitOfWork

IncidentOf = Callable[[int], Awaitable[Incident | None]]


class Reminders:
    def __init__(
        self, uow: UnitOfWork, settings: Settings, messages_queued: Wakeup | None = None
    ) -> None:
        self.uow = uow
        self.settings = settings
        self.messages_queued = messages_queued

    async def run(self) -> int:
        """Queue today's reminders and, on its day, the week's digests; how many messages."""
        queued = await self.uow.write("reminders", self._queue)
        if queued and self.messages_queued is not None:
            self.messages_queued()
        return queued

    async def _queue(self, repo: Repository, now: datetime) -> int:
        settings = self.settings
        today = in_zone(now, settings.zone).date()
        soon = today + timedelta(days=settings.action_reminder_days)
        due = await repo.actions.find(ItemFilter(status=ItemStatus.OPEN, due_until=soon))
        incidents: dict[int, Incident | None] = {}

        async def incident_of(incident_id: int) -> Incident | None:
            if incident_id not in incidents:
                incidents[incident_id] = await repo.get_incident(incident_id)
            return incidents[incident_id]

        messages: list[NewMessage] = []
        for reminder in reminders_due((r.item for r in due), today, settings.action_reminder_days):
            incident = await incident_of(reminder.item.incident_id)
            if incident is None:
                continue
            labels = route_labels(incident)
            channels = channels_for(settings.notify, labels, NotifyEvent.ACTION_REMINDER)
            if not channels or not await repo.actions.claim_reminder(reminder.key, now):
                continue
            for channel in channels:
                message = reminder_message(
                    reminder,
                    incident,
                    language=settings.language,
                    zone=settings.timezone,
                    public_url=settings.public_url,
                    mention=settings.notify.mention_of(reminder.item.owner, channel),
                    today=today,
                )
                messages.append(
                    NewMessage(
                        incident.id, channel, NotifyEvent.ACTION_REMINDER.value, message.to_json()
                    )
                )
        messages += await self._digests(repo, now, incident_of)
        await repo.outbox.enqueue(messages, now)
        return len(messages)

    async def _digests(
        self, repo: Repository, now: datetime, incident_of: IncidentOf
    ) -> list[NewMessage]:
        settings = self.settings
        today = in_zone(now, settings.zone).date()
        if digest_key("", today, settings.action_digest_weekday) is None:
            return []
        by_channel: dict[str, list[TrackedItem]] = defaultdict(list)
        for row in await repo.actions.find(ItemFilter(status=ItemStatus.OPEN)):
            incident = await incident_of(row.item.incident_id)
            if incident is None:
                continue
            for channel in channels_for(
                settings.notify, route_labels(incident), NotifyEvent.ACTION_DIGEST
            ):
                by_channel[channel].append(row.item)
        messages = []
        for channel, items in sorted(by_channel.items()):
            key = digest_key(channel, today, settings.action_digest_weekday)
            if key is None or not await repo.actions.claim_reminder(key, now):
                continue
            message = digest_message(
                items,
                language=settings.language,
                zone=settings.timezone,
                public_url=settings.public_url,
                now=now,
                today=today,
            )
            messages.append(
                NewMessage(None, channel, NotifyEvent.ACTION_DIGEST.value, message.to_json())
            )
        return messages
