"""Flux notification-controller events (generic / generic-hmac Provider): the JSON Event
of fluxcd/pkg apis/event/v1. A change is a successful reconciliation, install, upgrade or
rollback at a revision; other events (errors, progress) are not changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from receiver.changes.common import Ignored, clip, source_id, utc
from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange

# reason → what it means; the controllers' own reasons for a finished change
_REASONS = {
    "ReconciliationSucceeded": ChangeType.DEPLOY,  # kustomize-controller
    "InstallSucceeded": ChangeType.DEPLOY,  # helm-controller
    "UpgradeSucceeded": ChangeType.DEPLOY,
    "RollbackSucceeded": ChangeType.ROLLBACK,
}


class _Object(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=300)
    namespace: str = Field(default="", max_length=300)
    uid: str = Field(default="", max_length=100)


class FluxEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    involved_object: _Object = Field(alias="involvedObject")
    severity: str = Field(default="info", max_length=20)
    timestamp: datetime
    message: str = Field(default="", max_length=100_000)
    reason: str = Field(min_length=1, max_length=200)
    metadata: dict[str, str] = Field(default_factory=dict)
    reporting_controller: str = Field(default="", max_length=200, alias="reportingController")


def revision_of(metadata: dict[str, str]) -> str | None:
    """`<group>/revision` (kustomize.toolkit.fluxcd.io/revision, helm.toolkit…)."""
    for key, value in sorted(metadata.items()):
        if key == "revision" or key.endswith("/revision"):
            return value
    return None


def read_flux(data: Any) -> ServiceChange | Ignored:
    event = FluxEvent.model_validate(data)
    kind = _REASONS.get(event.reason)
    if kind is None or event.severity != "info":
        return Ignored(f"Flux event {event.reason} ({event.severity}) is not a finished change")
    revision = revision_of(event.metadata)
    if revision is None:
        return Ignored(f"Flux event {event.reason} names no revision")
    obj = event.involved_object
    labels = {
        key.rpartition("/")[2]: value
        for key, value in event.metadata.items()
        if not key.endswith("/revision") and key != "revision" and len(value) <= 500
    }
    first_line = event.message.strip().splitlines()[0] if event.message.strip() else ""
    return ServiceChange(
        source=ChangeSource.FLUX,
        # the event names no id of its own: the object, its revision and what happened
        source_id=source_id(
            obj.uid or f"{obj.kind}/{obj.namespace}/{obj.name}", revision, event.reason
        ),
        type=kind,
        service=obj.name,
        summary=clip(f"{obj.kind} {obj.namespace}/{obj.name} {event.reason}: {first_line}")
        or event.reason,
        started_at=utc(event.timestamp),
        finished_at=utc(event.timestamp),
        namespace=obj.namespace or None,
        object_kind=obj.kind,
        object_name=obj.name,
        to_version=clip(revision),
        actor=clip(event.reporting_controller),
        labels=labels,
    )
