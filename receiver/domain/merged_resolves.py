"""Which episode a resolve closes, when Alertmanager merged two firings of one alert. Pure.

Alertmanager keeps one alert per fingerprint. When a sender posts an alert overlapping
the one it holds, it merges the two and keeps the earlier startsAt: a resolve may carry
an older, already closed episode's startsAt with an endsAt after a newer episode began.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from receiver.domain.incident import Episode


def episode_resolved(
    episodes_of_fingerprint: Iterable[Episode], starts_at: datetime, ends_at: datetime | None
) -> Episode | None:
    """The episode a resolve of (startsAt, endsAt) closes: the latest one of its
    fingerprint that began at or after its startsAt and no later than its endsAt.

    So a merged resolve (old startsAt, endsAt after the new episode's start) closes the
    new episode, while a stale one (endsAt before the new start) only concerns the old
    episode. None: no episode of ours starts in that span (a resolve never seen firing).
    """
    if ends_at is None:
        return next((e for e in episodes_of_fingerprint if e.starts_at == starts_at), None)
    candidates = [e for e in episodes_of_fingerprint if starts_at <= e.starts_at <= ends_at]
    return max(candidates, key=lambda e: e.starts_at, default=None)
