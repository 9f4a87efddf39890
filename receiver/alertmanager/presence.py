"""When to believe an alert list from an Alertmanager that does not say when it started.

Grafana's built-in Alertmanager reports no uptime, and like any Alertmanager it forgets
its alerts when Grafana restarts, until the rules are evaluated again. So its list is
judged over the restart grace instead: it counts once this Alertmanager has answered
every pass for that long, and an alert counts as present if any answer within it held
the alert. A restart between two passes then resolves nothing. Pure: times are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Presence:
    """The alerts held at some time within the window, and the window's first answer:
    an alert absent from all of them was gone by then."""

    fingerprints: set[str]
    since: datetime


class AnswerWindow:
    def __init__(self, grace: timedelta) -> None:
        self.grace = grace
        # per Alertmanager URL: since when it answered every pass, and those answers
        self._answering_since: dict[str, datetime] = {}
        self._answers: dict[str, list[tuple[datetime, set[str]]]] = {}

    def answered(self, url: str, at: datetime, fingerprints: set[str]) -> Presence | None:
        """Record an answer; what it and the others of the window say, or None while
        the Alertmanager has not answered for the whole grace yet."""
        since = self._answering_since.setdefault(url, at)
        kept = [answer for answer in self._answers.get(url, []) if answer[0] >= at - self.grace]
        kept.append((at, fingerprints))
        self._answers[url] = kept
        if at - since < self.grace:
            return None
        return Presence(set().union(*(held for _, held in kept)), kept[0][0])

    def failed(self, url: str) -> None:
        """It did not answer: it may be restarting, so start over."""
        self._answering_since.pop(url, None)
        self._answers.pop(url, None)
