"""The incident model: episodes, incidents, status transitions and timeline entries.

Pure domain code: no I/O, the clock is passed in. The service loads an incident's
state, calls these functions, and stores what they changed in one transaction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from receiver.alertmanager.grafana import VALUES as FIRING_VALUES
from receiver.alertmanager.webhook import Alert, AlertStatus, Webhook


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

    def add_entry(self, entry: TimelineEntry) -> None:
        if entry.dedup_key not in self.state.entry_keys:
            self.state.entry_keys.add(entry.dedup_key)
            self.new_entries.append(entry)
            if entry.kind is EntryKind.ACK and not self.state.acknowledged:
                self.state.acknowledged = True
                self.first_ack_at = entry.at


def incident_key(hook: Webhook, key_labels: Iterable[str] = ()) -> str:
    """Hash of (receiver, groupKey), or of the receiver and the chosen labels' values."""
    labels = tuple(key_labels)
    if labels:
        merged = {**hook.common_labels, **hook.group_labels}
        basis = "\x00".join([hook.receiver, *(f"{name}={merged.get(name, '')}" for name in labels)])
    else:
        basis = f"{hook.receiver}\x00{hook.group_key}"
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


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


def can_reopen(incident: Incident, hook: Webhook, now: datetime, rules: Rules) -> bool:
    """Whether this webhook's re-fire may reopen the incident instead of opening a new one.

    The window runs from the incident's recovery to the new alerts' start; an approved
    incident is closed for good.
    """
    if incident.status is IncidentStatus.FIRING:
        return True
    if incident.status is IncidentStatus.APPROVED or incident.ended_at is None:
        return False
    firing = [a.starts_at for a in hook.alerts if a.status is AlertStatus.FIRING]
    refired_at = min(firing, default=now)
    return refired_at - incident.ended_at <= rules.reopen_window


def open_incident(hook: Webhook, key: str, now: datetime, rules: Rules) -> Change:
    """A new incident for this webhook's group, with its 'incident opened' row."""
    first = min(alert.starts_at for alert in hook.alerts)
    labels = {**hook.common_labels, **hook.group_labels}
    incident = Incident(
        key=key,
        receiver=hook.receiver,
        group_key=hook.group_key,
        group_labels=dict(hook.group_labels),
        common_labels=dict(hook.common_labels),
        common_annotations=dict(hook.common_annotations),
        external_url=hook.external_url,
        title="",
        priority=rules.default_priority,
        status=IncidentStatus.FIRING,
        opened_at=now,
        started_at=first,
        ended_at=None,
        updated_at=now,
        service=labels.get("service", "") or _first_label(hook.alerts, "service"),
        last_delivery_at=now,
    )
    change = Change(state=IncidentState(incident=incident), created=True)
    change.add_entry(
        TimelineEntry(
            at=now,
            phase=Phase.DETECT,
            kind=EntryKind.INCIDENT_OPENED,
            source=Source.ALERTMANAGER,
            dedup_key="opened",
        )
    )
    return change


def _first_label(alerts: Iterable[Alert], name: str) -> str:
    return next((alert.labels[name] for alert in alerts if alert.labels.get(name)), "")


def apply_webhook(change: Change, hook: Webhook, now: datetime, rules: Rules) -> Change:
    """Apply every alert of the body to the incident, judging each alert on its own.

    Never looks at the group's ``status`` to decide a resolve, and never infers a
    resolve from an alert's absence: ``truncatedAlerts`` may hide firing alerts.
    """
    state = change.state
    incident = state.incident
    incident.last_delivery_at = now
    for alert in hook.alerts:
        episode = state.episodes.get((alert.fingerprint, alert.starts_at))
        if episode is None:
            _add_episode(change, alert, now)
        elif alert.status is AlertStatus.RESOLVED:
            _resolve_episode(change, episode, alert, now)
        # a firing report of a known episode is a repeat, or older than what we hold

    if change.new_episodes or change.changed_episodes:
        incident.title = title_of(state.episodes.values(), incident.common_annotations)
        reasons = [priority_of(episode.labels, rules) for episode in state.episodes.values()]
        incident.priority = highest_priority(reasons, rules).priority
        incident.started_at = min(episode.starts_at for episode in state.episodes.values())
        incident.updated_at = now

    if hook.truncated_alerts:
        shown = len(hook.alerts)
        change.add_entry(
            TimelineEntry(
                at=now,
                phase=Phase.RECOVER if hook.status is AlertStatus.RESOLVED else Phase.DETECT,
                kind=EntryKind.PARTIAL_VIEW,
                source=Source.ALERTMANAGER,
                dedup_key=f"partial:{incident.cycle}:{hook.status}",
                subject=f"{shown}/{shown + hook.truncated_alerts}",
            )
        )

    if incident.is_open and _all_resolved(state, hook):
        recover(change, now)
    elif incident.status is IncidentStatus.STALE:
        incident.status = IncidentStatus.FIRING  # heard from again, even by a repeat
    return change


def _add_episode(change: Change, alert: Alert, now: datetime) -> None:
    state = change.state
    incident = state.incident
    resolved = alert.status is AlertStatus.RESOLVED
    if not resolved and not incident.is_open:
        _reopen(change, alert, now)
    episode = Episode(
        fingerprint=alert.fingerprint,
        starts_at=alert.starts_at,
        ends_at=(alert.ends_at or now) if resolved else None,
        resolved=resolved,
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        generator_url=alert.generator_url,
        cycle=incident.cycle,
        first_seen_at=now,
    )
    state.episodes[episode.key] = episode
    change.new_episodes.append(episode)
    change.add_entry(
        TimelineEntry(
            at=episode.starts_at,
            phase=Phase.DETECT,
            kind=EntryKind.ALERT_FIRED,
            source=Source.ALERTMANAGER,
            dedup_key=f"fired:{episode.fingerprint}:{episode.starts_at.isoformat()}",
            subject=episode.subject,
            detail=episode.annotations.get(FIRING_VALUES, ""),  # Grafana's query results
        )
    )
    if resolved:
        # a resolve never seen firing: an already-closed episode
        _add_resolved_entry(change, episode)
        if incident.ended_at is not None and episode.ends_at is not None:
            incident.ended_at = max(incident.ended_at, episode.ends_at)


def _resolve_episode(change: Change, episode: Episode, alert: Alert, now: datetime) -> None:
    ends_at = alert.ends_at or now
    if episode.resolved:
        # endsAt only moves forward
        if episode.ends_at is None or ends_at > episode.ends_at:
            episode.ends_at = ends_at
            change.changed_episodes.append(episode)
        return
    episode.resolved = True
    episode.ends_at = ends_at
    change.changed_episodes.append(episode)
    _add_resolved_entry(change, episode)


def _add_resolved_entry(change: Change, episode: Episode) -> None:
    assert episode.ends_at is not None
    change.add_entry(
        TimelineEntry(
            at=episode.ends_at,
            phase=Phase.RECOVER,
            kind=EntryKind.ALERT_RESOLVED,
            source=Source.ALERTMANAGER,
            dedup_key=f"resolved:{episode.fingerprint}:{episode.starts_at.isoformat()}",
            subject=episode.subject,
        )
    )


def _reopen(change: Change, alert: Alert, now: datetime) -> None:
    incident = change.state.incident
    incident.cycle += 1
    incident.status = IncidentStatus.FIRING
    incident.ended_at = None
    incident.updated_at = now
    change.reopened = True
    change.add_entry(
        TimelineEntry(
            at=alert.starts_at,
            phase=Phase.DETECT,
            kind=EntryKind.REFIRED,
            source=Source.ALERTMANAGER,
            dedup_key=f"refired:{incident.cycle}",
            subject=alert_subject(alert.labels),
            note=str(incident.cycle),
        )
    )


def _all_resolved(state: IncidentState, hook: Webhook) -> bool:
    episodes = state.episodes.values()
    if any(not episode.resolved for episode in episodes):
        return False
    if hook.truncated_alerts:
        # the group holds more alerts than the body shows; only recover once every one
        # of them is known to us (and, by the check above, resolved)
        group_size = len(hook.alerts) + hook.truncated_alerts
        known = {e.fingerprint for e in episodes if e.cycle == state.incident.cycle}
        return len(known) >= group_size
    return True


def recover(
    change: Change,
    now: datetime,
    *,
    ended: datetime | None = None,
    all_resolved_row: bool = True,
    source: Source = Source.ALERTMANAGER,
) -> None:
    """Every alert resolved (or a person ended an alert-less incident): write the draft."""
    state = change.state
    incident = state.incident
    current = [e for e in state.episodes.values() if e.cycle == incident.cycle]
    if ended is None:
        ended = max((e.ends_at for e in current if e.ends_at is not None), default=now)
    incident.status = IncidentStatus.RECOVERED
    incident.ended_at = ended
    incident.updated_at = now
    change.recovered = True
    if not all_resolved_row:
        return
    change.add_entry(
        TimelineEntry(
            at=ended,
            phase=Phase.RECOVER,
            kind=EntryKind.ALL_RESOLVED,
            source=source,
            dedup_key=f"all_resolved:{incident.cycle}",
            subject=str(len(current)),
            # when the notification that proved it arrived; none for reconciliation
            note=now.isoformat() if source is Source.ALERTMANAGER else "",
        )
    )


def reconcile(change: Change, present: set[str], asked_at: datetime, now: datetime) -> Change:
    """Alertmanager no longer holds these firing alerts: they resolved without a webhook
    (a silenced alert resolves silently). Resolve them now and recover if none is left.

    `present` is what Alertmanager held at `asked_at`; an alert first seen after that
    is not judged by it.
    """
    state = change.state
    for episode in state.episodes.values():
        if episode.resolved or episode.fingerprint in present:
            continue
        if episode.first_seen_at > asked_at:
            continue
        episode.resolved = True
        episode.ends_at = asked_at  # the moment Alertmanager no longer had it
        change.changed_episodes.append(episode)
        change.add_entry(
            TimelineEntry(
                at=asked_at,
                phase=Phase.RECOVER,
                kind=EntryKind.ALERT_GONE,
                source=Source.RECONCILE,
                # the same key as a webhook's resolve: a late one adds no second row
                dedup_key=f"resolved:{episode.fingerprint}:{episode.starts_at.isoformat()}",
                subject=episode.subject,
            )
        )
    incident = state.incident
    if change.changed_episodes:
        incident.updated_at = now
        if incident.is_open and all(e.resolved for e in state.episodes.values()):
            recover(change, now, source=Source.RECONCILE)
    return change


def mark_stale(change: Change, now: datetime, silent_for: timedelta) -> Change:
    """No delivery for too long and Alertmanager cannot be asked: say so, never close."""
    incident = change.state.incident
    if incident.status is IncidentStatus.FIRING:
        incident.status = IncidentStatus.STALE
        incident.updated_at = now
        change.add_entry(
            TimelineEntry(
                at=now,
                phase=Phase.HANDLE,
                kind=EntryKind.STALE,
                source=Source.RECONCILE,
                dedup_key=f"stale:{incident.cycle}:{now.isoformat()}",
                note=str(int(silent_for.total_seconds())),
            )
        )
    return change


def mark_drafted(incident: Incident, now: datetime) -> None:
    """A draft revision was written for a recovered incident."""
    if incident.status is IncidentStatus.RECOVERED:
        incident.status = IncidentStatus.DRAFTED
        incident.updated_at = now
