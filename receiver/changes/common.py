"""What every change feed's reading shares: a body a feed sent that is not a change
(Ignored), times, ids that fit the store, and the service a change belongs to."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from receiver.domain.moments import accepted
from receiver.text import without_nul

# the store's source_id column holds 200 characters; longer ids are hashed
SOURCE_ID_MAX = 200
# the labels that name the service, first found wins (the alerts' own label last: a
# workload rarely carries it)
SERVICE_LABELS = ("app.kubernetes.io/name", "app", "service")
_TEXT_MAX = 2000  # a summary or version longer than this is cut (the rest is in the link)


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed body that is not a change we keep (a failed sync, a ping…): why."""

    reason: str


def source_id(*parts: object) -> str:
    text = ":".join(str(part) for part in parts)
    if len(text) <= SOURCE_ID_MAX:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def utc(moment: datetime) -> datetime:
    """The aware moment in UTC, within the span the store accepts; else ValueError."""
    if moment.tzinfo is None:
        raise ValueError("the time has no zone")
    return accepted(moment)


def clip(text: str | None) -> str | None:
    """Text as stored: no NUL, no more than a paragraph; None stays None, "" becomes None."""
    if text is None:
        return None
    text = without_nul(text).strip()
    if not text:
        return None
    return text if len(text) <= _TEXT_MAX else text[: _TEXT_MAX - 1] + "…"


def service_of(labels: Mapping[str, str] | None, fallback: str) -> str:
    """The service a workload's labels name, else the fallback (its name)."""
    for name in SERVICE_LABELS:
        value = (labels or {}).get(name)
        if value and value.strip():
            return value.strip()
    return fallback


def string_labels(labels: Mapping[str, object] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (labels or {}).items() if isinstance(v, str | int | float)}
