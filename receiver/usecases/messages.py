"""The chat messages a change causes, queued in the outbox inside its transaction."""

from __future__ import annotations

from datetime import datetime

from receiver.config import Settings
from receiver.domain.incident import Change
from receiver.notify.compose import compose
from receiver.notify.events import events_of
from receiver.notify.routing import channels_for, route_labels
from receiver.store import Repository
from receiver.store.outbox import NewMessage


async def queue_messages(
    repo: Repository,
    settings: Settings,
    change: Change,
    now: datetime,
    new_draft_revision: int | None,
) -> int:
    """Write the change's messages to the outbox, in its transaction; how many."""
    incident = change.state.incident
    assert incident.id is not None
    labels = route_labels(incident)
    queued: list[NewMessage] = []
    saved = await repo.policy.of(incident.id)  # written with the draft, just before
    for event in events_of(change, now, new_draft_revision):
        channels = channels_for(settings.notify, labels, event)
        if not channels:
            continue
        message = compose(
            event,
            incident,
            language=settings.language,
            zone=settings.timezone,
            public_url=settings.public_url,
            acknowledged_by=await repo.first_acknowledger(incident.id),
            verdict=saved.verdict if saved is not None else None,
        ).to_json()
        queued.extend(NewMessage(incident.id, name, event.value, message) for name in channels)
    await repo.outbox.enqueue(queued, now)
    return len(queued)
