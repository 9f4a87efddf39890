"""Argo CD notifications through its `webhook` service, with the body our template sends
(deploy/changes/argocd-notifications-cm.yaml, triggers on-sync-succeeded and
on-deployed). Both triggers fire for one sync: they share app, revision and finish time,
so the second is a replay of the first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from receiver.changes.common import clip, source_id, utc
from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange

_TRIGGERS = ("on-sync-succeeded", "on-deployed")


class ArgoCdNotification(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    app: str = Field(min_length=1, max_length=300)
    revision: str = Field(min_length=1, max_length=300)
    finished_at: datetime
    started_at: datetime | None = None
    trigger: str = Field(default="on-sync-succeeded", max_length=100)
    # the app's `service` label when it has one (the template passes it), else the app
    service: str | None = Field(default=None, max_length=300)
    namespace: str | None = Field(default=None, max_length=300)
    cluster: str | None = Field(default=None, max_length=2000)
    project: str | None = Field(default=None, max_length=300)
    author: str | None = Field(default=None, max_length=500)
    message: str | None = Field(default=None, max_length=100_000)
    repo_url: str | None = Field(default=None, max_length=2000)
    url: str | None = Field(default=None, max_length=2000)

    @field_validator(
        "started_at",
        "service",
        "namespace",
        "cluster",
        "project",
        "author",
        "message",
        "repo_url",
        "url",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        # a template renders a missing value as "" (or Go's "<no value>")
        return None if value in ("", "<no value>") else value


def read_argocd(data: Any) -> ServiceChange:
    note = ArgoCdNotification.model_validate(data)
    finished = utc(note.finished_at)
    labels = {"trigger": note.trigger} if note.trigger in _TRIGGERS else {}
    if note.project:
        labels["project"] = note.project
    first_line = (
        (note.message or "").strip().splitlines()[0] if (note.message or "").strip() else ""
    )
    return ServiceChange(
        source=ChangeSource.ARGOCD,
        source_id=source_id(note.app, note.revision, finished.isoformat()),
        type=ChangeType.DEPLOY,
        service=note.service or note.app,
        summary=clip(
            f"{note.app} synced to {note.revision[:12]}" + (f": {first_line}" if first_line else "")
        )
        or note.app,
        started_at=utc(note.started_at) if note.started_at else finished,
        finished_at=finished,
        namespace=note.namespace,
        cluster=note.cluster,
        object_kind="Application",
        object_name=note.app,
        to_version=note.revision,
        actor=clip(note.author),
        link=clip(note.url or note.repo_url),
        labels=labels,
    )
