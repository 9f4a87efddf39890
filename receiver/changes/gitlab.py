"""GitLab deployment events (`X-Gitlab-Event: Deployment Hook`): a deployment whose status
is `success` is a change; running, failed and canceled ones are not. The shape is GitLab's
"Webhook events" page, Deployment events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from receiver.changes.common import Ignored, clip, source_id, utc
from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange


class _Project(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    name: str = Field(min_length=1, max_length=300)
    path_with_namespace: str = Field(default="", max_length=500)
    web_url: str | None = Field(default=None, max_length=2000)


class _User(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    name: str = Field(default="", max_length=200)
    username: str = Field(default="", max_length=200)


class DeploymentEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    object_kind: str = Field(pattern="^deployment$")
    status: str = Field(max_length=50)
    status_changed_at: datetime
    deployment_id: int
    deployable_url: str | None = Field(default=None, max_length=2000)
    environment: str = Field(default="", max_length=300)
    environment_external_url: str | None = Field(default=None, max_length=2000)
    project: _Project
    short_sha: str = Field(default="", max_length=100)
    user: _User | None = None
    commit_url: str | None = Field(default=None, max_length=2000)
    commit_title: str | None = Field(default=None, max_length=10_000)
    ref: str = Field(default="", max_length=300)

    @field_validator("status_changed_at", mode="before")
    @classmethod
    def _gitlab_time(cls, value: Any) -> Any:
        # GitLab writes "2021-04-28 21:50:00 +0200"; ISO 8601 wants "+02:00"
        if isinstance(value, str) and len(value) == 25 and value[19] == " ":
            return f"{value[:19]}{value[20:23]}:{value[23:]}"
        return value


def read_gitlab(data: Any) -> ServiceChange | Ignored:
    event = DeploymentEvent.model_validate(data)
    if event.status != "success":
        return Ignored(f"deployment status {event.status!r} is not a finished deployment")
    version = event.ref or event.short_sha
    if event.ref and event.short_sha and event.ref != event.short_sha:
        version = f"{event.ref}@{event.short_sha}"
    who = event.user
    project = event.project
    return ServiceChange(
        source=ChangeSource.GITLAB,
        source_id=source_id(event.deployment_id, event.status),
        type=ChangeType.DEPLOY,
        service=project.name,
        summary=clip(event.commit_title)
        or f"{project.path_with_namespace or project.name} → {event.environment}",
        started_at=utc(event.status_changed_at),
        finished_at=utc(event.status_changed_at),
        object_kind="Project",
        object_name=project.path_with_namespace or project.name,
        to_version=clip(version),
        actor=clip(who.username or who.name) if who else None,
        link=clip(event.deployable_url or event.commit_url),
        labels={"environment": event.environment} if event.environment else {},
    )
