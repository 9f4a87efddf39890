"""A stored change body read by its source's reader: the same at accept (to refuse a bad
body with a 4xx) and when the inbox applies it (or a replay does)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from receiver.changes.argocd import read_argocd
from receiver.changes.common import Ignored
from receiver.changes.flux import read_flux
from receiver.changes.github import read_github
from receiver.changes.gitlab import read_gitlab
from receiver.changes.kubernetes import read_kubernetes
from receiver.changes.manual import read_manual
from receiver.domain.changes import ChangeSource, ServiceChange
from receiver.text import without_nul

Reader = Callable[[Any], ServiceChange | Ignored]
READERS: dict[ChangeSource, Reader] = {
    ChangeSource.FLUX: read_flux,
    ChangeSource.ARGOCD: read_argocd,
    ChangeSource.GITHUB: read_github,
    ChangeSource.GITLAB: read_gitlab,
    ChangeSource.KUBERNETES: read_kubernetes,
    ChangeSource.MANUAL: read_manual,
}


def read_change(source: ChangeSource, body: str) -> ServiceChange | Ignored:
    """The change a body tells, or why it tells none; ValueError (pydantic's
    ValidationError included) when it is not what the source sends."""
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    change = READERS[source](data)
    return change if isinstance(change, Ignored) else storable(change)


def storable(change: ServiceChange) -> ServiceChange:
    """Every text as both stores hold it: a feed's names may carry NUL or lone
    surrogates (JSON escapes allow them), which PostgreSQL's text refuses."""

    def text(value: str | None) -> str | None:
        return None if value is None else without_nul(value)

    return replace(
        change,
        source_id=without_nul(change.source_id),
        service=without_nul(change.service),
        summary=without_nul(change.summary),
        namespace=text(change.namespace),
        cluster=text(change.cluster),
        object_kind=text(change.object_kind),
        object_name=text(change.object_name),
        from_version=text(change.from_version),
        to_version=text(change.to_version),
        actor=text(change.actor),
        link=text(change.link),
        labels={without_nul(k): without_nul(v) for k, v in change.labels.items()},
    )
