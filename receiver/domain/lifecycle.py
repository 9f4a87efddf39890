"""How alert notifications move an incident: open, add and resolve episodes, recover,
reopen, reconcile with Alertmanager, go stale. Pure: the clock is passed in.

Notifications are read through the protocols below, so any wire model with these
attributes (Alertmanager's webhook, Grafana's) can drive the model without the
domain importing it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from receiver.domain.incident import (
    Change,
    EntryKind,
    Episode,
    Incident,
    IncidentState,
    IncidentStatus,
    Phase,
    Rules,
    Source,
    TimelineEntry,
    alert_subject,
    highest_priority,
    priority_of,
    title_of,
)
from receiver.domain.merged_resolves import episode_resolved

FIRING = "firing"
RESOLVED = "resolved"
# the annotation in which Grafana's alerts carry the rule's query results when it fired
FIRING_VALUES = "__grafana_values__"


class AlertReport(Protocol):
    """One alert as a notification reports it."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def status(self) -> str: ...  # "firing" | "resolved"
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime | None: ...
    @property
    def labels(self) -> Mapping[str, str]: ...
    @property
    def annotations(self) -> Mapping[str, str]: ...
    @property
    def generator_url(self) -> str: ...


class GroupReport(Protocol):
    """One notification about one alert group."""

    @property
    def receiver(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def alerts(self) -> Sequence[AlertReport]: ...
    @property
    def group_labels(self) -> Mapping[str, str]: ...
    @property
    def common_labels(self) -> Mapping[str, str]: ...
    @property
    def common_annotations(self) -> Mapping[str, str]: ...
    @property
    def external_url(self) -> str: ...
    @property
    def group_key(self) -> str: ...
    @property
    def truncated_alerts(self) -> int: ...


def incident_key(hook: GroupReport, key_labels: Iterable[str] = ()) -> str:
    """Hash of (receiver, groupKey), or of the receiver and the chosen labels' values."""
    labels = tuple(key_labels)
    if labels:
        merged = {**hook.common_labels, **hook.group_labels}
        basis = "\x00".join([hook.receiver, *(f"{name}={merged.get(name, '')}" for name in labels)])
    else:
        basis = f"{hook.receiver}\x00{hook.group_key}"
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def can_reopen(incident: Incident, hook: GroupReport, now: datetime, rules: Rules) -> bool:
    """Whether this webhook's re-fire may reopen the incident instead of opening a new one.

    The window runs from the incident's recovery to the new alerts' start; an approved
    incident is closed for good.
    """
    if incident.status is IncidentStatus.FIRING:
        return True
    if incident.status is IncidentStatus.APPROVED or incident.ended_at is None:
        return False
    firing = [a.starts_at for a in hook.alerts if a.status == FIRING]
    refired_at = min(firing, default=now)
    return refired_at - incident.ended_at <= rules.reopen_window


def open_incident(hook: GroupReport, key: str, now: datetime, rules: Rules) -> Change:
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


def _first_label(alerts: Iterable[AlertReport], name: str) -> str:
    return next((alert.labels[name] for alert in alerts if alert.labels.get(name)), "")


def apply_webhook(change: Change, hook: GroupReport, now: datetime, rules: Rules) -> Change:
    """Apply every alert of the body to the incident, judging each alert on its own.

    Never looks at the group's ``status`` to decide a resolve, and never infers a
    resolve from an alert's absence: ``truncatedAlerts`` may hide firing alerts.
    """
    state = change.state
    incident = state.incident
    incident.last_delivery_at = now
    by_fingerprint: dict[str, list[Episode]] | None = None  # built at the first resolve
    for alert in hook.alerts:
        episode = state.episodes.get((alert.fingerprint, alert.starts_at))
        if alert.status == RESOLVED:
            if by_fingerprint is None:
                by_fingerprint = defaultdict(list)
                for known in state.episodes.values():
                    by_fingerprint[known.fingerprint].append(known)
            # Alertmanager may have merged two firings and kept the older startsAt
            episode = (
                episode_resolved(
                    by_fingerprint.get(alert.fingerprint, ()), alert.starts_at, alert.ends_at
                )
                or episode
            )
        if episode is None:
            _add_episode(change, alert, now)
            if by_fingerprint is not None:
                by_fingerprint[alert.fingerprint].append(change.new_episodes[-1])
        elif alert.status == RESOLVED:
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
                phase=Phase.RECOVER if hook.status == RESOLVED else Phase.DETECT,
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


def _add_episode(change: Change, alert: AlertReport, now: datetime) -> None:
    state = change.state
    incident = state.incident
    resolved = alert.status == RESOLVED
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


def _resolve_episode(change: Change, episode: Episode, alert: AlertReport, now: datetime) -> None:
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


def _add_resolved_entry(
    change: Change,
    episode: Episode,
    kind: EntryKind = EntryKind.ALERT_RESOLVED,
    source: Source = Source.ALERTMANAGER,
) -> None:
    """The episode's resolve row, at its end. One key whoever saw it first (a webhook, or
    reconciliation finding it gone): a late report adds no second row."""
    assert episode.ends_at is not None
    change.add_entry(
        TimelineEntry(
            at=episode.ends_at,
            phase=Phase.RECOVER,
            kind=kind,
            source=source,
            dedup_key=resolved_key(episode),
            subject=episode.subject,
        )
    )


def resolved_key(episode: Episode) -> str:
    """The key of an episode's resolve row, however its end became known."""
    return f"resolved:{episode.fingerprint}:{episode.starts_at.isoformat()}"


def _reopen(change: Change, alert: AlertReport, now: datetime) -> None:
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


def _all_resolved(state: IncidentState, hook: GroupReport) -> bool:
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
        _add_resolved_entry(change, episode, EntryKind.ALERT_GONE, Source.RECONCILE)
    incident = state.incident
    if change.changed_episodes:
        incident.updated_at = now
        if incident.is_open and all(e.resolved for e in state.episodes.values()):
            recover(change, now, source=Source.RECONCILE)
    return change


def stale_if_silent(change: Change, now: datetime, stale_after: timedelta) -> Change:
    """Alertmanager cannot be asked: an incident unheard of for `stale_after` goes stale."""
    incident = change.state.incident
    if goes_stale(incident, now, stale_after):
        mark_stale(change, now, now - (incident.last_delivery_at or incident.updated_at))
    return change


def goes_stale(incident: Incident, now: datetime, stale_after: timedelta) -> bool:
    """Whether a firing incident has been unheard of for `stale_after`: the one whose
    silence stale_if_silent marks."""
    last = incident.last_delivery_at or incident.updated_at
    return incident.status is IncidentStatus.FIRING and now - last >= stale_after


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
