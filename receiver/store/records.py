"""What the store hands back besides the domain's own models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from receiver.domain.drafting import Revision
from receiver.domain.history import History
from receiver.domain.review import HumanFields


@dataclass(frozen=True, slots=True)
class DraftContext:
    """What rendering a draft needs from the store, besides the incident's own rows."""

    history: History
    latest: Revision | None
    human: HumanFields
    latest_file_name: str | None = None  # the latest revision's file


@dataclass(frozen=True, slots=True)
class StoredDraft:
    incident_id: int
    revision: int
    language: str
    file_name: str
    markdown: str
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None  # None: the system wrote it
    # not stored: False when no other file of this incident can exist (its first draft,
    # or named as the revision before), so the export need not look for one to remove
    renamed: bool = True


@dataclass(frozen=True, slots=True)
class InboxRecord:
    id: int
    received_at: datetime
    kind: str  # "alertmanager" | "grafana" | "event"
    body: str
    incident_id: int | None


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """Where one inbox entry stands: pending, applied (to `incident_id`), refused (an
    event naming no incident: `outcome` says why) or quarantined."""

    id: int
    received_at: datetime
    kind: str
    state: str  # pending | applied | refused | quarantined
    incident_id: int | None
    outcome: str | None  # created | changed | unchanged | no_open_incident | not_found
    draft_revision: int | None
    attempts: int
    last_error: str | None
    applied_at: datetime | None
    quarantined_at: datetime | None
    credential: str | None
    body_bytes: int


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]
