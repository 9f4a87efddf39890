"""Where an incident's end time comes from: endsAt, reconciliation, a person's report, or
the evidence of the metric back under its threshold."""

from __future__ import annotations

from datetime import datetime, timedelta

from receiver.config import DEFAULT_SEVERITY_MAP
from receiver.domain.ending import Breach, ChartBreaches, MetricEvidence, known_end
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


def silenced_and_reconciled(
    minutes: int = 40,
) -> tuple[IncidentState, list[TimelineEntry], datetime, datetime]:
    """Three alerts silenced two minutes in, found gone by reconciliation `minutes` in."""
    state, entries = fired()
    start = state.incident.started_at
    silence = TimelineEntry(
        start + timedelta(minutes=2), Phase.DETECT, EntryKind.ACK, Source.SILENCE, "s", "zs", "5f3c"
    )
    found = start + timedelta(minutes=minutes)
    change = reconcile(Change(state=state), set(), found, found)
    return state, [*entries, silence, *change.new_entries], start, found


def chart(number: int, *series: tuple[Breach, ...]) -> ChartBreaches:
    return ChartBreaches(number, f"query_{number}", series)


def evidence(until: datetime, *charts: ChartBreaches) -> MetricEvidence:
    return MetricEvidence(until, charts)


def test_the_metric_back_under_its_threshold_moves_a_reconciled_end() -> None:
    state, timeline, start, found = silenced_and_reconciled()
    back = start + timedelta(minutes=25)
    seen = evidence(found + timedelta(minutes=15), chart(1, ((start, back),)))
    end, source = known_end(state.incident, timeline, True, seen)
    assert (end, source.kind, source.query, source.chart) == (back, "evidence", "query_1", 1)
    assert source.silences == (("5f3c", "zs"),)  # why no resolve came, still said
    assert source.estimated


def test_a_series_that_dipped_under_and_crossed_again_is_not_back() -> None:
    state, timeline, start, found = silenced_and_reconciled()
    dipped = ((start, start + timedelta(minutes=10)), (start + timedelta(minutes=12), None))
    seen = evidence(found + timedelta(minutes=15), chart(1, dipped))
    assert known_end(state.incident, timeline, True, seen)[1].kind == "reconcile"
    # back for good after the second breach: that is the recovery, not the dip
    again = (dipped[0], (dipped[1][0], start + timedelta(minutes=30)))
    seen = evidence(found + timedelta(minutes=15), chart(1, again))
    assert known_end(state.incident, timeline, True, seen)[0] == start + timedelta(minutes=30)


def test_every_series_of_every_chart_must_be_back_and_the_latest_counts() -> None:
    state, timeline, start, found = silenced_and_reconciled()
    early, late = start + timedelta(minutes=20), start + timedelta(minutes=33)
    two_series = chart(1, ((start, early),), ((start, late),))
    other = chart(2, ((start, start + timedelta(minutes=28)),))
    end, source = known_end(state.incident, timeline, True, evidence(found, two_series, other))
    assert (end, source.chart) == (late, 1)
    still = chart(2, ((start, None),))
    assert known_end(state.incident, timeline, True, evidence(found, two_series, still))[
        1
    ].kind == ("reconcile")
    nothing_crossed = chart(2)  # shows nothing to be back from
    assert (
        known_end(state.incident, timeline, True, evidence(found, two_series, nothing_crossed))[
            1
        ].kind
        == "reconcile"
    )


def test_a_recovery_after_the_reconciled_bound_or_before_the_start_is_ignored() -> None:
    state, timeline, start, found = silenced_and_reconciled()
    after = chart(1, ((start, found + timedelta(seconds=30)),))
    assert (
        known_end(state.incident, timeline, True, evidence(found + timedelta(hours=1), after))[0]
        == found
    )
    before = chart(1, ((start - timedelta(minutes=20), start - timedelta(minutes=1)),))
    assert known_end(state.incident, timeline, True, evidence(found, before))[0] == found
    # a breach that began only after the bound is not this incident's: the earlier one counts
    later = chart(
        1,
        ((start, start + timedelta(minutes=30)), (found + timedelta(minutes=5), None)),
    )
    seen = evidence(found + timedelta(minutes=15), later)
    assert known_end(state.incident, timeline, True, seen)[0] == start + timedelta(minutes=30)
    # evidence that stops before the bound cannot say the metric stayed under until then
    short = evidence(
        found - timedelta(minutes=1), chart(1, ((start, start + timedelta(minutes=5)),))
    )
    assert known_end(state.incident, timeline, True, short)[1].kind == "reconcile"


def test_the_earlier_of_a_persons_report_and_the_evidence_wins() -> None:
    state, timeline, start, found = silenced_and_reconciled()
    verify = TimelineEntry(
        start + timedelta(minutes=20), Phase.RECOVER, EntryKind.VERIFY, Source.MANUAL, "v", "lisi"
    )
    later = evidence(found, chart(1, ((start, start + timedelta(minutes=30)),)))
    end, source = known_end(state.incident, [*timeline, verify], True, later)
    assert (end, source.kind, source.actor) == (verify.at, "reported", "lisi")
    earlier = evidence(found, chart(1, ((start, start + timedelta(minutes=15)),)))
    end, source = known_end(state.incident, [*timeline, verify], True, earlier)
    assert (end, source.kind) == (start + timedelta(minutes=15), "evidence")


def test_evidence_never_replaces_an_alertmanager_ends_at() -> None:
    state, entries = fired()
    resolved = hook("resolved_group_3")
    last = max(a.ends_at for a in resolved.alerts if a.ends_at)
    change = apply_webhook(Change(state=state), resolved, last + timedelta(seconds=5), RULES)
    start = state.incident.started_at
    seen = evidence(last + timedelta(hours=1), chart(1, ((start, start + timedelta(seconds=1)),)))
    end, source = known_end(state.incident, entries + change.new_entries, True, seen)
    assert (end, source.kind) == (last, "ends_at")
