"""Where an incident's end time comes from: endsAt, reconciliation, or a person's report."""

from __future__ import annotations

from datetime import timedelta

from receiver.config import DEFAULT_SEVERITY_MAP
from receiver.domain.ending import known_end
from receiver.domain.incident import (
    Change,
    EntryKind,
    IncidentState,
    Phase,
    Rules,
    Source,
    TimelineEntry,
)
from receiver.domain.lifecycle import apply_webhook, incident_key, open_incident, reconcile
from tests.conftest import hook

RULES = Rules(severity_map=DEFAULT_SEVERITY_MAP)


def fired() -> tuple[IncidentState, list[TimelineEntry]]:
    body = hook("firing_group_3")
    now = body.alerts[0].starts_at + timedelta(seconds=30)
    change = open_incident(body, incident_key(body), now, RULES)
    apply_webhook(change, body, now, RULES)
    return change.state, list(change.new_entries)


def test_alertmanager_resolve_is_the_exact_end() -> None:
    state, entries = fired()
    resolved = hook("resolved_group_3")
    last = max(a.ends_at for a in resolved.alerts if a.ends_at)
    change = apply_webhook(Change(state=state), resolved, last + timedelta(seconds=5), RULES)
    end, source = known_end(state.incident, entries + change.new_entries, True)
    assert end == last
    assert source.kind == "ends_at"
    assert not source.estimated


def test_reconciled_end_is_an_upper_bound_and_an_earlier_report_wins() -> None:
    state, entries = fired()
    start = state.incident.started_at
    silence = TimelineEntry(
        start + timedelta(minutes=2), Phase.DETECT, EntryKind.ACK, Source.SILENCE, "s", "zs", "5f3c"
    )
    found = start + timedelta(minutes=40)
    change = reconcile(Change(state=state), set(), found, found)
    timeline = [*entries, silence, *change.new_entries]
    end, source = known_end(state.incident, timeline, True)
    assert (end, source.kind, source.silences) == (found, "reconcile", (("5f3c", "zs"),))
    assert source.estimated
    verify = TimelineEntry(
        start + timedelta(minutes=20), Phase.RECOVER, EntryKind.VERIFY, Source.MANUAL, "v", "lisi"
    )
    too_early = TimelineEntry(
        start - timedelta(minutes=1), Phase.RECOVER, EntryKind.RESOLVE, Source.MANUAL, "r", "x"
    )
    end, source = known_end(state.incident, [*timeline, verify, too_early], True)
    assert (end, source.kind, source.actor, source.report) == (
        verify.at,
        "reported",
        "lisi",
        "verify",
    )
    assert source.estimated
