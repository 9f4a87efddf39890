"""Ingesting a webhook (Alertmanager's or Grafana's): place it, apply it, record it."""

from __future__ import annotations

from datetime import datetime

from receiver.alertmanager.webhook import Webhook
from receiver.domain.incident import Change, Incident, IncidentState, Rules
from receiver.domain.lifecycle import apply_webhook, incident_key, open_incident
from receiver.domain.placement import place
from receiver.store import Repository
from receiver.usecases.batch_reads import BatchReads
from receiver.usecases.recording import IngestResult, Recorder, Step


class IngestWebhook:
    def __init__(self, recorder: Recorder, rules: Rules) -> None:
        self.recorder = recorder
        self.rules = rules

    async def __call__(
        self, hook: Webhook, raw_body: str, *, keep_body: bool = True, kind: str = "alertmanager"
    ) -> IngestResult:
        """Store the webhook and its effects in one transaction; then export the draft.

        `keep_body=False` (a replay of the inbox) applies without storing the body again,
        nor sending its messages again; `kind` says whose body it is ("alertmanager" or
        "grafana"), for the replay.
        """

        inbox = (kind, raw_body) if keep_body else None
        return await self.recorder.record("webhook", self.step(hook), inbox, notify=keep_body)

    def step(self, hook: Webhook, reads: BatchReads | None = None) -> Step:
        """Place the webhook and change its incident through the domain; with `reads`,
        what its batch read for all its webhooks at once."""

        async def step(repo: Repository, now: datetime) -> Change:
            key = incident_key(hook, self.rules.key_labels)
            series = [(a.fingerprint, a.starts_at) for a in hook.alerts]
            if reads is None:
                match = await repo.series_matches(series)
                latest = await repo.latest_incident_by_key(key)
            else:
                match = await reads.series_matches(repo, series)
                latest = await reads.latest_incident_by_key(repo, key)
            placement = place(hook, match, latest, now, self.rules)
            own = _without(hook, placement.foreign)
            if placement.incident_id is None:
                change = open_incident(own, key, now, self.rules)
            else:
                change = Change(state=await _state(repo, reads, latest, placement.incident_id))
            return apply_webhook(change, own, now, self.rules)

        return step


async def _state(
    repo: Repository, reads: BatchReads | None, latest: Incident | None, incident_id: int
) -> IncidentState:
    """The incident's state to change: as its batch read it ahead, else loaded."""
    if reads is None:
        return await repo.load_state(incident_id)
    state = reads.state(incident_id)
    if state is not None:
        return repo.adopt_state(state)
    return await repo.load_state(incident_id, as_read=reads.as_read(latest, incident_id))


def _without(hook: Webhook, foreign: frozenset[tuple[str, datetime]]) -> Webhook:
    """The webhook less the alerts other incidents already hold."""
    if not foreign:
        return hook
    kept = [a for a in hook.alerts if (a.fingerprint, a.starts_at) not in foreign]
    return hook.model_copy(update={"alerts": kept})
