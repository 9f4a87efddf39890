"""The incident model: episodes, incidents, their states and timeline entries.

Pure domain code: no I/O, the clock is passed in. A use case loads an incident's
state, changes it through the domain, and stores what changed in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class IncidentStatus(StrEnum):
    FIRING = "firing"
    RECOVERED = "recovered"
    DRAFTED = "drafted"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    STALE = "stale"


STATUS_VALUES = frozenset(status.value for status in IncidentStatus)


class Phase(StrEnum):
    DETECT = "detect"  # 发现阶段
    HANDLE = "handle"  # 处理阶段
    RECOVER = "recover"  # 恢复阶段


class EntryKind(StrEnum):
    ALERT_FIRED = "alert_fired"
    INCIDENT_OPENED = "incident_opened"
    ALERT_RESOLVED = "alert_resolved"
    ALL_RESOLVED = "all_resolved"
    REFIRED = "refired"
    PARTIAL_VIEW = "partial_view"
    ALERT_GONE = "alert_gone"  # reconciliation: Alertmanager no longer has the alert
    STALE = "stale"
    # what people did (alert-webhook.sh, the API, silences); values match the template steps
    MANUAL_ALERT = "manual_alert"
    ACK = "ack"
    ASSEMBLE = "assemble"
    RESTART = "restart"
    ROLLBACK = "rollback"
    SCALE = "scale"
    ROOT_CAUSE = "root_cause"
    MITIGATE = "mitigate"
    FIX = "fix"
    VERIFY = "verify"
    MONITOR_OK = "monitor_ok"
    NOTIFY_USERS = "notify_users"
    RESOLVE = "resolve"
    NOTE = "note"


class Source(StrEnum):
    ALERTMANAGER = "alertmanager"
    SILENCE = "silence"
    MANUAL = "manual"
    UI = "ui"
    RECONCILE = "reconcile"
    # a change feed (deploys, rollbacks, scaling): rows the draft derives, never stored
    CHANGE = "change"


PRIORITY_ORDER = ("P0", "P1", "P2", "P3")
PRIORITY_LABEL = re.compile(r"[Pp]?([0-3])")
# Labels that name the affected thing, best first.
_SUBJECT_LABELS = ("instance", "pod", "node", "host", "service", "job", "alertname")


@dataclass(frozen=True, slots=True)
class Rules:
    """The knobs of the model that come from settings."""

    severity_map: Mapping[str, str]
    default_priority: str = "P3"
    reopen_window: timedelta = timedelta(minutes=30)
    key_labels: tuple[str, ...] = ()


@dataclass(slots=True)
class Episode:
    """One firing of one alert series, unique on (fingerprint, starts_at)."""

    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    resolved: bool
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str
    cycle: int
    first_seen_at: datetime
    id: int | None = None

    @property
    def key(self) -> tuple[str, datetime]:
        return (self.fingerprint, self.starts_at)

    @property
    def subject(self) -> str:
        return alert_subject(self.labels)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    phase: Phase
    kind: EntryKind
    source: Source
    dedup_key: str
    actor: str | None = None  # None is the system itself
    subject: str = ""
    note: str = ""
    detail: str = ""


@dataclass(slots=True)
class Incident:
    key: str
    receiver: str
    group_key: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str
    title: str
    priority: str
    status: IncidentStatus
    opened_at: datetime
    started_at: datetime
    ended_at: datetime | None
    updated_at: datetime
    service: str = ""
    cycle: int = 1
    last_delivery_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    # why it was approved with required parts still empty (None: nothing was missing)
    approval_override: str | None = None
    id: int | None = None

    @property
    def is_open(self) -> bool:
        """Firing, or stale (firing as far as we know, but unheard of for too long)."""
        return self.status in (IncidentStatus.FIRING, IncidentStatus.STALE)


@dataclass(slots=True)
class IncidentState:
    """An incident with everything the model needs to decide on the next webhook."""

    incident: Incident
    episodes: dict[tuple[str, datetime], Episode] = field(default_factory=dict)
    entry_keys: set[str] = field(default_factory=set)
    acknowledged: bool = False  # it has an ack row already


@dataclass(slots=True)
class Change:
    """What one webhook did to one incident; the service stores exactly this."""

    state: IncidentState
    created: bool = False
    new_episodes: list[Episode] = field(default_factory=list)
    changed_episodes: list[Episode] = field(default_factory=list)
    new_entries: list[TimelineEntry] = field(default_factory=list)
    recovered: bool = False
    reopened: bool = False
    revision_by: str | None = None  # a person changed the draft: write a new revision
    refresh_draft: bool = False  # re-render the current revision (e.g. its status changed)
    first_ack_at: datetime | None = None  # this change brought the first acknowledgement

    @property
    def touched(self) -> bool:
        return bool(self.created or self.new_episodes or self.changed_episodes or self.new_entries)

    def revise(self, by: str, now: datetime) -> None:
        """Someone changed what the draft says: a new revision, by them."""
        self.revision_by = by
        self.state.incident.updated_at = now

    def add_entry(self, entry: TimelineEntry) -> None:
        if entry.dedup_key not in self.state.entry_keys:
            self.state.entry_keys.add(entry.dedup_key)
            self.new_entries.append(entry)
            if entry.kind is EntryKind.ACK and not self.state.acknowledged:
                self.state.acknowledged = True
                self.first_ack_at = entry.at


def alert_subject(labels: Mapping[str, str]) -> str:
    for name in _SUBJECT_LABELS:
        if labels.get(name):
            return labels[name]
    return ""


@dataclass(frozen=True, slots=True)
class PriorityReason:
    priority: str
    source: str  # "priority" | "severity" | "default"
    value: str  # the label value it came from


def priority_of(labels: Mapping[str, str], rules: Rules) -> PriorityReason:
    """A `priority` label wins; otherwise `severity` through the map; otherwise the default."""
    raw_priority = labels.get("priority", "").strip()
    match = PRIORITY_LABEL.fullmatch(raw_priority)
    if match:
        return PriorityReason(f"P{match.group(1)}", "priority", raw_priority)
    severity = labels.get("severity", "").strip()
    mapped = rules.severity_map.get(severity.lower())
    if mapped:
        return PriorityReason(mapped, "severity", severity)
    return PriorityReason(rules.default_priority, "default", severity)


def highest_priority(reasons: Iterable[PriorityReason], rules: Rules) -> PriorityReason:
    ordered = sorted(reasons, key=lambda reason: PRIORITY_ORDER.index(reason.priority))
    return ordered[0] if ordered else PriorityReason(rules.default_priority, "default", "")


def title_of(episodes: Iterable[Episode], common_annotations: Mapping[str, str]) -> str:
    """The summary the alerts share, or their alertnames; templates add the instance count."""
    items = sorted(episodes, key=lambda episode: (episode.starts_at, episode.fingerprint))
    if not items:
        return ""
    summaries = [episode.annotations.get("summary", "") for episode in items]
    summary = common_annotations.get("summary") or _common_text(summaries)
    alertnames = sorted({episode.labels.get("alertname", "") for episode in items} - {""})
    return summary or " / ".join(alertnames[:3]) or items[0].fingerprint


def _common_text(texts: list[str]) -> str:
    """The longest shared prefix of the summaries, cut at a word boundary."""
    present = [text for text in texts if text]
    if not present or len(present) != len(texts):
        return ""
    if len(set(present)) == 1:
        return present[0]
    prefix = present[0]
    for text in present[1:]:
        while not text.startswith(prefix):
            prefix = prefix[:-1]
    # drop a half-written trailing token such as "(10.0.2.1"
    cut = max(prefix.rfind(" "), prefix.rfind("("), prefix.rfind("（"))
    prefix = prefix[:cut] if cut > 0 else prefix
    prefix = prefix.rstrip(" -:：,，(（")
    return prefix if len(prefix) >= 4 else ""
