"""JSON shapes of incidents, alerts, timeline rows and drafts in the API."""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from aiohttp import web

from receiver.domain.incident import Episode, Incident, TimelineEntry
from receiver.store import StoredDraft

# UTF-8 JSON: Chinese titles stay readable in curl output
json_response = functools.partial(
    web.json_response, dumps=functools.partial(json.dumps, ensure_ascii=False)
)


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def incident_summary(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "priority": incident.priority,
        "status": incident.status.value,
        "service": incident.service,
        "receiver": incident.receiver,
        "group_key": incident.group_key,
        "group_labels": incident.group_labels,
        "started_at": _time(incident.started_at),
        "ended_at": _time(incident.ended_at),
        "opened_at": _time(incident.opened_at),
        "updated_at": _time(incident.updated_at),
        "cycle": incident.cycle,
    }


def episode_json(episode: Episode) -> dict[str, Any]:
    return {
        "fingerprint": episode.fingerprint,
        "status": "resolved" if episode.resolved else "firing",
        "starts_at": _time(episode.starts_at),
        "ends_at": _time(episode.ends_at),
        "labels": episode.labels,
        "annotations": episode.annotations,
        "generator_url": episode.generator_url,
    }


def entry_json(entry: TimelineEntry) -> dict[str, Any]:
    return {
        "at": _time(entry.at),
        "phase": entry.phase.value,
        "kind": entry.kind.value,
        "source": entry.source.value,
        "actor": entry.actor,
        "subject": entry.subject,
        "note": entry.note,
        "detail": entry.detail,
    }


def draft_json(draft: StoredDraft) -> dict[str, Any]:
    return {
        "revision": draft.revision,
        "language": draft.language,
        "file_name": draft.file_name,
        "created_at": _time(draft.created_at),
        "updated_at": _time(draft.updated_at),
        "created_by": draft.created_by,
    }
