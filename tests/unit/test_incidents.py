"""The incident model, driven by the real Alertmanager captures. No event loop, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from receiver.alertmanager.webhook import Webhook
from receiver.config import DEFAULT_SEVERITY_MAP
from receiver.domain.incident import (
    Change,
    EntryKind,
    IncidentState,
    IncidentStatus,
    Phase,
    Rules,
    priority_of,
    title_of,
)
from receiver.domain.lifecycle import apply_webhook, can_reopen, incident_key, open_incident
from tests.conftest import capture, hook, shifted

RULES = Rules(severity_map=DEFAULT_SEVERITY_MAP)
NOW = datetime(2026, 11, 26, 19, 12, 0, tzinfo=UTC)


def start(name: str, now: datetime = NOW) -> IncidentState:
    body = hook(name)
    change = open_incident(body, incident_key(body), now, RULES)
    apply_webhook(change, body, now, RULES)
    return change.state


def then(state: IncidentState, body: Webhook, now: datetime = NOW) -> Change:
    return apply_webhook(Change(state=state), body, now, RULES)


def kinds(change: Change) -> list[EntryKind]:
    return [entry.kind for entry in change.new_entries]


def row_kinds(state: IncidentState) -> set[str]:
    """The kinds of timeline rows an incident holds, from their dedup keys."""
    return {key.split(":")[0] for key in state.entry_keys}


def test_firing_group_opens_incident_with_detection_rows() -> None:
    body = hook("firing_group_3")
    change = open_incident(body, incident_key(body), NOW, RULES)
    apply_webhook(change, body, NOW, RULES)
    incident = change.state.incident
    assert incident.status is IncidentStatus.FIRING
    assert incident.priority == "P2"  # severity=warning through the default map
    assert incident.title == "payments P99 延迟过高"
    assert incident.service == "payments"
    assert incident.started_at == body.alerts[0].starts_at
    fired = [e for e in change.new_entries if e.kind is EntryKind.ALERT_FIRED]
    assert [e.subject for e in fired] == ["10.0.2.11:9100", "10.0.2.12:9100", "10.0.2.13:9100"]
    assert all(e.phase is Phase.DETECT and e.actor is None for e in fired)
    assert all(e.at == a.starts_at for e, a in zip(fired, body.alerts, strict=True))
    opened = [e for e in change.new_entries if e.kind is EntryKind.INCIDENT_OPENED]
    assert len(opened) == 1
    assert opened[0].at == NOW


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("firing_group_3", "firing_group_3"),  # a retry of the same body
        ("ha_duplicate_peer0", "ha_duplicate_peer1"),  # both HA peers delivered it
        ("firing_single", "firing_single"),
    ],
)
def test_repeated_or_duplicated_body_changes_nothing(first: str, second: str) -> None:
    state = start(first)
    episodes_before = {k: (e.resolved, e.ends_at) for k, e in state.episodes.items()}
    change = then(state, hook(second), NOW + timedelta(seconds=15))
    assert not change.touched
    assert {k: (e.resolved, e.ends_at) for k, e in state.episodes.items()} == episodes_before


def test_repeat_notification_of_firing_alert_adds_nothing() -> None:
    state = start("repeat_notification")
    assert not then(state, hook("repeat_notification"), NOW + timedelta(hours=1)).touched


def test_alert_joining_group_adds_a_row() -> None:
    full = capture("group_grows_1_then_3")
    first_only = dict(full, alerts=[a for a in full["alerts"] if a["startsAt"].endswith("48.738Z")])
    assert len(first_only["alerts"]) == 1
    body = Webhook.parse(first_only)
    change = open_incident(body, incident_key(body), NOW, RULES)
    apply_webhook(change, body, NOW, RULES)
    grown = then(change.state, Webhook.parse(full))
    assert kinds(grown) == [EntryKind.ALERT_FIRED, EntryKind.ALERT_FIRED]
    assert len(change.state.episodes) == 3
    assert change.state.incident.title == "payments P99 延迟过高"


def test_single_resolve_inside_firing_body_adds_recovery_row_and_stays_open() -> None:
    state = start("partial_resolve")
    # the capture itself carries one resolved alert next to two firing ones
    resolved_rows = [k for k in state.entry_keys if k.startswith("resolved:")]
    assert len(resolved_rows) == 1
    assert state.incident.is_open
    change = then(state, hook("partial_resolve_then_rest_resolved"), NOW + timedelta(seconds=20))
    assert kinds(change) == [
        EntryKind.ALERT_RESOLVED,
        EntryKind.ALERT_RESOLVED,
        EntryKind.ALL_RESOLVED,
    ]
    assert change.recovered
    assert state.incident.status is IncidentStatus.RECOVERED
    assert state.incident.ended_at == max(
        a.ends_at for a in hook("partial_resolve_then_rest_resolved").alerts if a.ends_at
    )
    all_resolved = change.new_entries[-1]
    assert all_resolved.phase is Phase.RECOVER
    assert all_resolved.subject == "3"


def test_every_alert_resolved_recovers_once() -> None:
    state = start("firing_group_3")
    change = then(state, hook("resolved_group_3"))
    assert change.recovered
    assert [e.kind for e in change.new_entries].count(EntryKind.ALERT_RESOLVED) == 3
    again = then(state, hook("resolved_group_3"), NOW + timedelta(minutes=1))
    assert not again.touched
    assert not again.recovered


def test_resolve_never_seen_firing_is_a_closed_episode() -> None:
    state = start("resolved_single")
    (episode,) = state.episodes.values()
    assert episode.resolved
    assert episode.ends_at == hook("resolved_single").alerts[0].ends_at
    assert state.incident.status is IncidentStatus.RECOVERED
    assert row_kinds(state) == {"opened", "fired", "resolved", "all_resolved"}


def test_late_firing_after_resolve_does_not_undo_it() -> None:
    state = start("resolved_group_3")
    change = then(state, hook("firing_group_3"), NOW + timedelta(seconds=30))
    assert not change.touched
    assert state.incident.status is IncidentStatus.RECOVERED
    assert all(e.resolved for e in state.episodes.values())


def test_ends_at_only_moves_forward() -> None:
    state = start("resolved_single")
    later = capture("resolved_single")
    (episode,) = state.episodes.values()
    original_end = episode.ends_at
    assert original_end is not None
    earlier = dict(later, alerts=[dict(later["alerts"][0], endsAt="2026-11-26T19:11:50Z")])
    assert not then(state, Webhook.parse(earlier)).touched
    assert episode.ends_at == original_end
    moved = dict(later, alerts=[dict(later["alerts"][0], endsAt="2026-11-26T19:20:00Z")])
    assert then(state, Webhook.parse(moved)).changed_episodes == [episode]
    assert episode.ends_at == datetime(2026, 11, 26, 19, 20, tzinfo=UTC)


def test_truncated_resolved_body_with_alerts_still_firing_keeps_incident_open() -> None:
    # max_alerts: 1 — Alertmanager says "resolved" while two alerts of the group still fire
    body = hook("truncated_partial_resolve_max_alerts_1")
    assert body.status == "resolved"
    assert body.truncated_alerts == 2
    state = start("truncated_partial_resolve_max_alerts_1")
    assert state.incident.status is IncidentStatus.FIRING
    assert any(key.startswith("partial:") for key in state.entry_keys)


def test_truncated_group_never_recovers_from_what_it_cannot_see() -> None:
    state = start("truncated_max_alerts")  # 2 of 3 alerts shown
    change = then(state, hook("truncated_max_alerts_resolved"), NOW + timedelta(seconds=5))
    assert not change.recovered
    assert state.incident.status is IncidentStatus.FIRING
    partial = [e for e in change.new_entries if e.kind is EntryKind.PARTIAL_VIEW]
    assert partial
    assert partial[0].phase is Phase.RECOVER
    assert partial[0].subject == "2/3"


def test_reopen_within_window_and_not_after() -> None:
    state = start("firing_group_3")
    then(state, hook("resolved_group_3"))
    incident = state.incident
    assert incident.ended_at is not None
    refire = Webhook.parse(shifted(capture("firing_group_3"), timedelta(minutes=10)))
    assert can_reopen(incident, refire, NOW, RULES)
    late = Webhook.parse(shifted(capture("firing_group_3"), timedelta(hours=2)))
    assert not can_reopen(incident, late, NOW, RULES)
    change = then(state, refire, NOW + timedelta(minutes=10))
    assert change.reopened
    assert incident.status is IncidentStatus.FIRING
    assert incident.cycle == 2
    assert incident.ended_at is None
    assert kinds(change)[0] is EntryKind.REFIRED
    assert kinds(change).count(EntryKind.ALERT_FIRED) == 3
    assert len(state.episodes) == 6


def test_approved_incident_is_never_reopened() -> None:
    state = start("firing_group_3")
    then(state, hook("resolved_group_3"))
    state.incident.status = IncidentStatus.APPROVED
    refire = Webhook.parse(shifted(capture("firing_group_3"), timedelta(minutes=1)))
    assert not can_reopen(state.incident, refire, NOW, RULES)


def test_incident_key_follows_receiver_and_group_key() -> None:
    keys = {
        incident_key(hook(name))
        for name in (
            "groupkey_group_by_all",
            "groupkey_group_by_none",
            "groupkey_subroute",
            "firing_single",
        )
    }
    assert len(keys) == 4
    assert incident_key(hook("ha_duplicate_peer0")) == incident_key(hook("ha_duplicate_peer1"))
    # keyed by labels instead, the sub-route and the plain route are one incident
    by_labels = {
        incident_key(hook(name), ["alertname", "service"])
        for name in ("groupkey_subroute", "firing_single", "groupkey_group_by_all")
    }
    assert len(by_labels) == 1


def test_priority_label_wins_then_severity_map_then_default() -> None:
    rules = Rules(severity_map={"critical": "P0", "warning": "P2"}, default_priority="P3")
    assert priority_of({"priority": "P1", "severity": "critical"}, rules).priority == "P1"
    assert priority_of({"priority": "0"}, rules).priority == "P0"
    assert priority_of({"severity": "CRITICAL"}, rules).priority == "P0"
    assert priority_of({"severity": "page"}, rules).priority == "P3"
    assert priority_of({"priority": "urgent", "severity": "warning"}, rules).priority == "P2"
    assert priority_of({}, rules).source == "default"


def test_incident_priority_is_the_highest_of_its_alerts() -> None:
    body = capture("order_mixed_jobs")
    assert {a["labels"]["severity"] for a in body["alerts"]} == {"warning"}
    body["alerts"][2]["labels"]["severity"] = "critical"
    fresh = Webhook.parse(body)
    change = open_incident(fresh, incident_key(fresh), NOW, RULES)
    apply_webhook(change, fresh, NOW, RULES)
    assert change.state.incident.priority == "P1"


def test_title_uses_shared_summary_or_alertname() -> None:
    state = start("firing_single")
    assert state.incident.title == "checkout 服务 5xx 错误率过高"
    episodes = list(start("firing_group_3").episodes.values())
    for episode in episodes:
        episode.annotations.pop("summary")
    assert title_of(episodes, {}) == "HighLatencyP99"
