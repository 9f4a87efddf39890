"""Which changes to running services may have caused an incident, best suspect first.

Pure: the caller passes the incident's alert labels, when its first alert fired and when
it recovered (or "now" while it fires), the candidate changes, and what people said of
them. A suspect is only ever a candidate: the draft marks it 待确认 unless a person
marked it the cause.

The order, stated once (`rank` follows it exactly):
1. a person's verdict: a change marked "the cause" comes first, one marked "not
   related" last;
2. changes that started at or before the first alert come before those that started
   after it (a later one cannot have started the incident, though it may have worsened
   it, and is never a candidate unless a person marks it the cause);
3. the score, higher first: what the change shares with the alerts through the label
   map (the service weighs most, then the namespace, then the cluster, then any other
   mapped label; a service the alerts name as related counts least);
4. closeness to the first alert: before it, the later a change started the sooner it
   comes; after it, the earlier;
5. then by source, then by the source's own id: any two changes have a fixed order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from receiver.domain.changes import ServiceChange
from receiver.domain.moments import shifted

# A change field an alert label may match, and how much a match weighs.
CHANGE_FIELDS: Mapping[str, int] = {"service": 8, "namespace": 4, "cluster": 2}
OTHER_LABEL_WEIGHT = 1  # a mapped label the change carries among its own labels
RELATED_WEIGHT = 1  # the change's service is one the alerts name as related
# alert label → the change field (or the change's own label) it names
DEFAULT_LABEL_MAP: Mapping[str, str] = {
    "service": "service",
    "app.kubernetes.io/name": "service",
    "app": "service",
    "namespace": "namespace",
    "cluster": "cluster",
}
DEFAULT_WINDOW = timedelta(hours=2)
MAX_CANDIDATES = 3


class Verdict(StrEnum):
    """What a person said of one change for one incident."""

    CAUSE = "cause"  # the change caused the incident
    UNRELATED = "unrelated"  # the change has nothing to do with it


@dataclass(frozen=True, slots=True)
class VerdictMark:
    change_id: int
    verdict: Verdict
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RankingRules:
    """How changes are matched to an incident's alerts (settings)."""

    window: timedelta = DEFAULT_WINDOW  # how long before the first alert a change counts
    label_map: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_LABEL_MAP))
    # alert labels whose values name other services, whose changes count as related
    related_labels: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What the ranking reads of an incident."""

    alert_labels: Sequence[Mapping[str, str]]  # each alert's labels (or the incident's own)
    first_alert: datetime
    until: datetime  # recovery, or now while it fires


@dataclass(frozen=True, slots=True)
class Suspect:
    change: ServiceChange
    score: int
    shared: tuple[str, ...]  # the change fields it shares with the alerts, heaviest first
    offset: timedelta  # its start minus the first alert's: negative or zero before it
    verdict: VerdictMark | None = None

    @property
    def before_first_alert(self) -> bool:
        return self.offset <= timedelta(0)

    @property
    def related_only(self) -> bool:
        return self.shared == ("related",)

    @property
    def candidate(self) -> bool:
        """May be named in 直接原因: shares something, started before the first alert
        (or was marked the cause), and nobody said it is unrelated."""
        if self.verdict is not None:
            return self.verdict.verdict is Verdict.CAUSE
        return self.score > 0 and self.before_first_alert


def in_window(change: ServiceChange, facts: IncidentFacts, rules: RankingRules) -> bool:
    return shifted(facts.first_alert, -rules.window) <= change.started_at <= facts.until


def shared_labels(
    change: ServiceChange, facts: IncidentFacts, rules: RankingRules
) -> tuple[int, tuple[str, ...]]:
    """The score and the change fields the change shares with any of the alerts."""
    matched: set[str] = set()
    for alert_label, target in rules.label_map.items():
        values = {labels[alert_label] for labels in facts.alert_labels if labels.get(alert_label)}
        if values and _field_value(change, target) in values:
            matched.add(target)
    score = sum(CHANGE_FIELDS.get(name, OTHER_LABEL_WEIGHT) for name in matched)
    shared = tuple(sorted(matched, key=lambda name: (-CHANGE_FIELDS.get(name, 0), name)))
    if "service" not in matched:
        related = {
            labels[name] for labels in facts.alert_labels for name in rules.related_labels
        } - {""}
        if change.service in related:
            score += RELATED_WEIGHT
            shared += ("related",)
    return score, shared


def rank(
    changes: Iterable[ServiceChange],
    facts: IncidentFacts,
    rules: RankingRules,
    verdicts: Iterable[VerdictMark] = (),
) -> list[Suspect]:
    """The changes in the window that share anything with the alerts (or that a person
    judged), in the order stated at the top of this module."""
    said = {mark.change_id: mark for mark in verdicts}
    found: list[Suspect] = []
    for change in changes:
        verdict = said.get(change.id) if change.id is not None else None
        if not in_window(change, facts, rules) and verdict is None:
            continue
        score, shared = shared_labels(change, facts, rules)
        if score == 0 and verdict is None:
            continue
        found.append(Suspect(change, score, shared, change.started_at - facts.first_alert, verdict))
    return sorted(found, key=_order)


def candidates(suspects: Sequence[Suspect], limit: int = MAX_CANDIDATES) -> list[Suspect]:
    """The top suspects the draft names in 直接原因 (待确认 unless marked the cause)."""
    return [s for s in suspects if s.candidate][:limit]


def _order(suspect: Suspect) -> tuple[int, bool, int, timedelta, str, str]:
    change = suspect.change
    verdict = suspect.verdict.verdict if suspect.verdict else None
    said = 0 if verdict is Verdict.CAUSE else 2 if verdict is Verdict.UNRELATED else 1
    return (
        said,
        not suspect.before_first_alert,
        -suspect.score,
        abs(suspect.offset),  # the nearest to the first alert first, on either side
        change.source.value,
        change.source_id,
    )


def _field_value(change: ServiceChange, target: str) -> str | None:
    if target in CHANGE_FIELDS:
        value: str | None = getattr(change, target)
        return value
    return change.labels.get(target)
