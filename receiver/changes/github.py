"""GitHub `deployment_status` webhooks: a deployment that reached `success` is a change;
other states (queued, in_progress, failure…) are not. GitHub's own docs and octokit's
payload schemas give the shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from receiver.changes.common import Ignored, clip, source_id, utc
from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange


class _User(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    login: str = Field(default="", max_length=200)


class _Status(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    id: int
    state: str = Field(max_length=50)
    description: str | None = Field(default=None, max_length=10_000)
    environment: str | None = Field(default=None, max_length=300)
    target_url: str | None = Field(default=None, max_length=2000)
    log_url: str | None = Field(default=None, max_length=2000)
    creator: _User | None = None
    created_at: datetime
    updated_at: datetime | None = None


class _Deployment(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    id: int
    sha: str = Field(max_length=100)
    ref: str = Field(default="", max_length=300)
    task: str = Field(default="deploy", max_length=100)
    environment: str = Field(default="", max_length=300)
    description: str | None = Field(default=None, max_length=10_000)
    creator: _User | None = None
    created_at: datetime


class _Repository(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    name: str = Field(min_length=1, max_length=300)
    full_name: str = Field(default="", max_length=300)
    html_url: str | None = Field(default=None, max_length=2000)


class DeploymentStatusEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    action: str = Field(default="created", max_length=50)
    deployment_status: _Status
    deployment: _Deployment
    repository: _Repository


def read_github(data: Any) -> ServiceChange | Ignored:
    event = DeploymentStatusEvent.model_validate(data)
    status, deployment, repo = event.deployment_status, event.deployment, event.repository
    if status.state != "success":
        return Ignored(f"deployment status {status.state!r} is not a finished deployment")
    environment = status.environment or deployment.environment
    commit = f"{repo.html_url}/commit/{deployment.sha}" if repo.html_url else None
    who = deployment.creator or status.creator
    version = deployment.ref if deployment.ref and deployment.ref != deployment.sha else ""
    to_version = f"{version}@{deployment.sha[:12]}" if version else deployment.sha[:12]
    return ServiceChange(
        source=ChangeSource.GITHUB,
        source_id=source_id(status.id),
        type=ChangeType.DEPLOY,
        service=repo.name,
        summary=clip(
            deployment.description
            or status.description
            or f"{repo.full_name or repo.name} {deployment.task} {to_version} → {environment}"
        )
        or deployment.task,
        started_at=utc(deployment.created_at),
        finished_at=utc(status.updated_at or status.created_at),
        object_kind="Repository",
        object_name=repo.full_name or repo.name,
        to_version=to_version,
        actor=clip(who.login) if who else None,
        link=clip(status.target_url or status.log_url or commit),
        labels={"environment": environment} if environment else {},
    )
