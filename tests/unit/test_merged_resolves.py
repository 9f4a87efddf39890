"""A resolve Alertmanager merged (the older startsAt kept) closes the open episode of its
fingerprint; a stale resolve of an older episode changes nothing. On a real capture, each
notification also delivered twice, as both peers of an HA pair send it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from receiver.alertmanager.webhook import Webhook
from receiver.config import DEFAULT_SEVERITY_MAP
from receiver.domain.incident import Change, IncidentState, IncidentStatus, Rules
from receiver.domain.lifecycle import apply_webhook, incident_key, open_incident
from tests.conftest import capture

RULES = Rules(severity_map=DEFAULT_SEVERITY_MAP, reopen_window=timedelta(minutes=30))


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def notification(status: str, starts_at: datetime, ends_at: datetime | None) -> Webhook:
    """The single-alert capture, as Alertmanager sends it with these times."""
    body: dict[str, Any] = capture("firing_single" if status == "firing" else "resolved_single")
    body["status"] = status
    for alert in body["alerts"]:
        alert["status"] = status
        alert["startsAt"] = rfc3339(starts_at)
        alert["endsAt"] = rfc3339(ends_at) if ends_at else "0001-01-01T00:00:00Z"
    return Webhook.parse(body)


def deliver(state: IncidentState, hook: Webhook, now: datetime, copies: int) -> None:
    for _ in range(copies):
        apply_webhook(Change(state=state), hook, now, RULES)


FIRST = Webhook.parse(capture("firing_single")).alerts[0].starts_at
RESOLVED_AT = FIRST + timedelta(seconds=4)
SECOND = FIRST + timedelta(seconds=10)


def refired(copies: int) -> IncidentState:
    """Fired, resolved, fired again inside the reopen window: one open episode."""
    first = notification("firing", FIRST, None)
    change = open_incident(first, incident_key(first), FIRST, RULES)
    state = change.state
    deliver(state, first, FIRST, copies)
    deliver(state, notification("resolved", FIRST, RESOLVED_AT), RESOLVED_AT, copies)
    assert state.incident.status is IncidentStatus.RECOVERED
    deliver(state, notification("firing", SECOND, None), SECOND, copies)
    assert state.incident.is_open
    return state


@pytest.mark.parametrize("copies", [1, 2], ids=["once", "ha-duplicate"])
def test_a_merged_resolve_closes_the_open_episode(copies: int) -> None:
    state = refired(copies)
    merged_end = SECOND + timedelta(seconds=4)
    # the old startsAt, with an endsAt after the new episode began
    deliver(state, notification("resolved", FIRST, merged_end), merged_end, copies)

    assert state.incident.status is IncidentStatus.RECOVERED
    episodes = sorted(state.episodes.values(), key=lambda e: e.starts_at)
    assert [(e.starts_at, e.ends_at, e.resolved) for e in episodes] == [
        (FIRST, RESOLVED_AT, True),  # the old one keeps its own end
        (SECOND, merged_end, True),
    ]
    assert len(episodes) == 2  # no third episode from the merged resolve


@pytest.mark.parametrize("copies", [1, 2], ids=["once", "ha-duplicate"])
def test_a_stale_resolve_of_the_older_episode_changes_nothing(copies: int) -> None:
    state = refired(copies)
    # a late copy of the first resolve: endsAt before the new episode began
    deliver(state, notification("resolved", FIRST, RESOLVED_AT), SECOND, copies)

    assert state.incident.status is IncidentStatus.FIRING
    episodes = sorted(state.episodes.values(), key=lambda e: e.starts_at)
    assert [(e.starts_at, e.ends_at, e.resolved) for e in episodes] == [
        (FIRST, RESOLVED_AT, True),
        (SECOND, None, False),
    ]
