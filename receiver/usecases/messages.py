"""The chat messages a change causes, queued in the outbox inside its transaction."""

from __future__ import annotations

from datetime import datetime

from receiver.config import Settings
from receiver.config.notify import NotifyEvent
from receiver.domain.incident import Change
from receiver.domain.moments import shifted
from receiver.domain.suspects import IncidentFacts, candidates, rank
from receiver.notify.compose import compose, similar_note
from receiver.notify.events import events_of
from receiver.notify.routing import channels_for, route_labels
from receiver.notify.suspect import suspect_line
from receiver.store import Repository
from receiver.store.outbox import NewMessage
from receiver.usecases.recurrence import similar_of


async def top_suspect(repo: Repository, settings: Settings, change: Change) -> str:
    """The first 直接原因 candidate among the changes before the incident's first alert,
    as the opened message names it; "" when there is none."""
    incident = change.state.incident
    rules = settings.ranking_rules
    start = incident.started_at
    changes = await repo.changes.between(shifted(start, -rules.window), start)
    if not changes:
        return ""
    labels = [e.labels for e in change.state.episodes.values()] or [incident.common_labels]
    best = candidates(rank(changes, IncidentFacts(labels, start, start), rules), limit=1)
    return suspect_line(best[0], settings.language) if best else ""


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
        suspect = await top_suspect(repo, settings, change) if event is NotifyEvent.OPENED else ""
        notes: tuple[str, ...] = ()
        if event is NotifyEvent.OPENED:  # what this incident repeats (issue 21)
            note = similar_note(
                await similar_of(repo, incident), settings.language, settings.timezone
            )
            notes = (note,) if note else ()
        message = compose(
            event,
            incident,
            language=settings.language,
            zone=settings.timezone,
            public_url=settings.public_url,
            acknowledged_by=await repo.first_acknowledger(incident.id),
            suspect=suspect,
            notes=notes,
            verdict=saved.verdict if saved is not None else None,
        ).to_json()
        queued.extend(NewMessage(incident.id, name, event.value, message) for name in channels)
    await repo.outbox.enqueue(queued, now)
    return len(queued)
