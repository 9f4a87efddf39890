"""A stored change body read by its source's reader: the same at accept (to refuse a bad
body with a 4xx) and when the inbox applies it (or a replay does)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from receiver.changes.argocd import read_argocd
from receiver.changes.common import Ignored
from receiver.changes.flux import read_flux
from receiver.changes.github import read_github
from receiver.changes.gitlab import read_gitlab
from receiver.changes.kubernetes import read_kubernetes
from receiver.changes.manual import read_manual
from receiver.domain.changes import ChangeSource, ServiceChange

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
    return READERS[source](data)
