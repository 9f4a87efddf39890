"""Changes to running services — deploys, config changes, rollbacks, scaling — as told by
the tools that made them (Flux, Argo CD, GitHub, GitLab, Kubernetes events) or by a
person. Pure: what a change is, independent of where it came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ChangeSource(StrEnum):
    """Who told us: also the `{source}` of POST /api/v1/changes/{source}."""

    FLUX = "flux"
    ARGOCD = "argocd"
    GITHUB = "github"
    GITLAB = "gitlab"
    KUBERNETES = "kubernetes"
    MANUAL = "manual"


class ChangeType(StrEnum):
    DEPLOY = "deploy"  # a new revision or image rolled out
    CONFIG = "config"  # configuration only
    ROLLBACK = "rollback"  # back to an earlier revision
    SCALE = "scale"  # replicas up or down


@dataclass(frozen=True, slots=True)
class ServiceChange:
    """One change, stored once per (source, source_id)."""

    source: ChangeSource
    source_id: str  # the source's own id for this change: a replayed delivery dedupes on it
    type: ChangeType
    service: str  # the service it changed, as the alerts' `service` label names it
    summary: str  # what changed, one line in the source's words
    started_at: datetime
    finished_at: datetime | None = None
    namespace: str | None = None
    cluster: str | None = None
    object_kind: str | None = None  # Deployment, HelmRelease, Application…
    object_name: str | None = None
    from_version: str | None = None  # revision or image before; None when unknown
    to_version: str | None = None
    actor: str | None = None  # who made it
    link: str | None = None  # where a person reads the change (commit, run, MR…)
    # further labels the change carries (environment, team…), matched against the alerts'
    labels: Mapping[str, str] = field(default_factory=dict)
    id: int | None = None  # the store's id, once stored
