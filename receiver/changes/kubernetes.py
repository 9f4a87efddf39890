"""Kubernetes Events as kubernetes-event-exporter's webhook sink posts them: the core/v1
Event, its involvedObject enriched by the exporter with the object's labels and
annotations. A change is a Deployment's ScalingReplicaSet (a rollout's new replica set,
or a scaling) and a StatefulSet's or DaemonSet's pod created or deleted by its
controller; `kubernetes.io/change-cause` says why when the object carries it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from receiver.changes.common import Ignored, clip, service_of, source_id, string_labels, utc
from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange

CHANGE_CAUSE = "kubernetes.io/change-cause"
_WORKLOADS = {
    "Deployment": frozenset({"ScalingReplicaSet"}),
    "StatefulSet": frozenset({"SuccessfulCreate", "SuccessfulDelete"}),
    "DaemonSet": frozenset({"SuccessfulCreate", "SuccessfulDelete"}),
}
# "Scaled up replica set web-5d4f7c9b8 to 3" (… "from 1" since Kubernetes 1.26)
_SCALED = re.compile(
    r"Scaled (?P<way>up|down) replica set (?P<rs>\S+) to (?P<to>\d+)(?: from (?P<from>\d+))?"
)


class _Meta(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    uid: str = Field(default="", max_length=100)
    name: str = Field(default="", max_length=300)
    namespace: str = Field(default="", max_length=300)


class _Object(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    kind: str = Field(max_length=200)
    name: str = Field(min_length=1, max_length=300)
    namespace: str = Field(default="", max_length=300)
    uid: str = Field(default="", max_length=100)
    labels: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None


class KubernetesEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    metadata: _Meta
    involved_object: _Object = Field(alias="involvedObject")
    reason: str = Field(default="", max_length=200)
    message: str = Field(default="", max_length=100_000)
    type: str = Field(default="Normal", max_length=50)
    first_timestamp: datetime | None = Field(default=None, alias="firstTimestamp")
    last_timestamp: datetime | None = Field(default=None, alias="lastTimestamp")
    event_time: datetime | None = Field(default=None, alias="eventTime")
    cluster_name: str | None = Field(default=None, max_length=300, alias="clusterName")


def read_kubernetes(data: Any) -> ServiceChange | Ignored:
    event = KubernetesEvent.model_validate(data)
    obj = event.involved_object
    if event.reason not in _WORKLOADS.get(obj.kind, frozenset()):
        return Ignored(
            f"{obj.kind} event {event.reason or '(no reason)'} is not a rollout or scaling"
        )
    at = event.first_timestamp or event.event_time or event.last_timestamp
    if at is None or not (event.metadata.uid or event.metadata.name):
        raise ValueError("the event has no time or no uid")
    annotations = string_labels(obj.annotations)
    cause = clip(annotations.get(CHANGE_CAUSE))
    kind, from_version, to_version = _what(event, cause)
    message = clip(event.message) or event.reason
    return ServiceChange(
        source=ChangeSource.KUBERNETES,
        source_id=source_id(
            event.metadata.uid or f"{event.metadata.namespace}/{event.metadata.name}"
        ),
        type=kind,
        service=service_of(string_labels(obj.labels), obj.name),
        summary=clip(
            f"{obj.kind} {obj.namespace}/{obj.name}: {message}" + (f"（{cause}）" if cause else "")
        )
        or message,
        started_at=utc(at),
        finished_at=utc(event.last_timestamp) if event.last_timestamp else None,
        namespace=obj.namespace or event.metadata.namespace or None,
        cluster=clip(event.cluster_name),
        object_kind=obj.kind,
        object_name=obj.name,
        from_version=from_version,
        to_version=to_version,
        labels=string_labels(obj.labels),
    )


def _what(event: KubernetesEvent, cause: str | None) -> tuple[ChangeType, str | None, str | None]:
    """A new replica set scaled up from nothing is a rollout; any other count a scaling,
    from → to replicas. Pods of a StatefulSet or DaemonSet: a rollout when the object
    names a change cause, else a scaling."""
    scaled = _SCALED.search(event.message)
    if scaled is None:
        return (ChangeType.DEPLOY if cause else ChangeType.SCALE), None, None
    before = scaled.group("from")
    if scaled.group("way") == "up" and before in (None, "0"):
        return ChangeType.DEPLOY, None, scaled.group("rs")
    return ChangeType.SCALE, before, scaled.group("to")
