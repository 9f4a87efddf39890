"""Recording a person's event (alert-webhook.sh, the API, the review page)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from receiver.domain.events import (
    EventType,
    apply_event,
    event_dedup_key,
    open_manual_incident,
)
from receiver.domain.incident import Change, Rules
from receiver.domain.moments import accepted
from receiver.store import Repository
from receiver.text import Details, Key, Message, Name, Short
from receiver.usecases.errors import NoOpenIncident
from receiver.usecases.recording import IngestResult, Recorder, Step
from receiver.usecases.unit_of_work import load


class ManualEvent(BaseModel):
    """One event as posted (form fields or JSON)."""

    # Message and details keep their edges: people's text arrives as it was written.
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: EventType
    service: Name
    message: Message
    actor: Name
    severity: Short = ""
    details: Details = ""
    incident_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    idempotency_key: Key | None = None
    at: datetime | None = None

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-11-26T14:20:44+08:00")
        return accepted(value)


class RecordEvent:
    def __init__(self, recorder: Recorder, rules: Rules, event_window: timedelta) -> None:
        self.recorder = recorder
        self.rules = rules
        self.event_window = event_window  # how long after recovery an event still joins

    async def __call__(
        self, event: ManualEvent, raw_body: str, *, keep_body: bool = True
    ) -> IngestResult:
        """A person's event: a row in its phase of the incident the event names (by id, or
        the open or recent incident of its service); `system-alert` may open one."""

        # a replay re-applies old input: its messages went out the first time
        inbox = ("event", raw_body) if keep_body else None
        return await self.recorder.record(
            "event", self.step(event, raw_body), inbox, notify=keep_body
        )

    def step(self, event: ManualEvent, raw_body: str) -> Step:
        """Find the event's incident (or open one) and add the event through the domain."""

        async def step(repo: Repository, now: datetime) -> Change:
            dedup_key = event_dedup_key(event.idempotency_key, raw_body, now)
            change = await self._target(repo, event, now)
            return apply_event(change, event, dedup_key, now)

        return step

    async def _target(self, repo: Repository, event: ManualEvent, now: datetime) -> Change:
        if event.incident_id is not None:
            return Change(state=await load(repo, event.incident_id))
        found = await repo.open_incident_by_service(event.service)
        if found is None and event.type is not EventType.SYSTEM_ALERT:
            found = await repo.recent_incident_by_service(
                event.service, since=now - self.event_window
            )
        if found is not None:
            return Change(state=await repo.load_state(found))
        if event.type is EventType.SYSTEM_ALERT:
            return open_manual_incident(event, now, self.rules)
        raise NoOpenIncident(
            f"no open incident for service {event.service!r}: open one with system-alert, "
            "or name the incident (--incident ID / incident_id)"
        )
