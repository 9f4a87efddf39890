"""Recording a person's event (alert-webhook.sh, the API, the review page)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from receiver.domain.events import EVENT_ROWS, EventType
from receiver.domain.incident import EntryKind, Phase
from receiver.domain.moments import accepted
from receiver.text import Details, Key, Message, Name, Short


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

    @property
    def row(self) -> tuple[EntryKind, Phase]:
        return EVENT_ROWS[self.type]
