"""JSON shapes of incidents, alerts, timeline rows and drafts in the API."""

from __future__ import annotations

import functools
import json
from datetime import datetime
from enum import Enum
from typing import Any

from aiohttp import web

from receiver.domain.completeness import completeness
from receiver.domain.incident import Episode, Incident, TimelineEntry
from receiver.domain.review import HumanFields
from receiver.store import InboxEntry, StoredDraft

# UTF-8 JSON: Chinese titles stay readable in curl output
json_response = functools.partial(
    web.json_response, dumps=functools.partial(json.dumps, ensure_ascii=False)
)


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _time(value)
    return value.value if isinstance(value, Enum) else value


def _pick(item: object, names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields, in this order, as JSON values (times in UTC with Z, enums as
    their values): each shape below is only its list of fields."""
    return {name: _value(getattr(item, name)) for name in names}


INCIDENT_SUMMARY = (
    "id",
    "title",
    "priority",
    "status",
    "service",
    "receiver",
    "group_key",
    "group_labels",
    "started_at",
    "ended_at",
    "opened_at",
    "updated_at",
    "cycle",
)
EPISODE_REST = ("starts_at", "ends_at", "labels", "annotations", "generator_url")
ENTRY = ("at", "phase", "kind", "source", "actor", "subject", "note", "detail")
DRAFT = ("revision", "language", "file_name", "created_at", "updated_at", "created_by")
REVISION = ("revision", "created_at", "updated_at", "created_by", "file_name")


def incident_summary(incident: Incident) -> dict[str, Any]:
    return _pick(incident, INCIDENT_SUMMARY)


def completeness_json(fields: HumanFields) -> dict[str, Any]:
    done = completeness(fields)
    return {"filled": done.filled, "total": done.total, "missing": list(done.missing)}


def episode_json(episode: Episode) -> dict[str, Any]:
    return {
        "fingerprint": episode.fingerprint,
        "status": "resolved" if episode.resolved else "firing",
        **_pick(episode, EPISODE_REST),
    }


def entry_json(entry: TimelineEntry) -> dict[str, Any]:
    return _pick(entry, ENTRY)


def draft_json(draft: StoredDraft) -> dict[str, Any]:
    return _pick(draft, DRAFT)


def revision_json(draft: StoredDraft) -> dict[str, Any]:
    return _pick(draft, REVISION)


def inbox_entry_json(entry: InboxEntry) -> dict[str, Any]:
    """Where an accepted webhook or event stands; never its body."""
    return {
        "id": entry.id,
        "kind": entry.kind,
        "received_at": _time(entry.received_at),
        "state": entry.state,
        "applied": entry.state in ("applied", "refused"),
        "incident_id": entry.incident_id,
        "outcome": entry.outcome,
        "created": entry.outcome == "created",
        "draft_revision": entry.draft_revision,
        "applied_at": _time(entry.applied_at),
        "attempts": entry.attempts,
        "error": entry.last_error,
        "quarantined_at": _time(entry.quarantined_at),
    }
