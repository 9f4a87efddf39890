"""The rules that moved out of the service into the domain, on real Alertmanager captures.
No database, no event loop, no clock: time is passed in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from receiver.config import DEFAULT_SEVERITY_MAP
from receiver.domain.completeness import (
    CHECKS,
    DEFAULT_REQUIRED,
    completeness,
    missing_for_approval,
)
from receiver.domain.drafting import (
    EVIDENCE_AUTHOR,
    Revision,
    draft_wanted,
    evidence_stored,
    next_revision,
)
from receiver.domain.events import event_dedup_key
from receiver.domain.incident import (
    Change,
    EntryKind,
    IncidentState,
    IncidentStatus,
    Phase,
    Rules,
    Source,
    TimelineEntry,
)
from receiver.domain.lifecycle import apply_webhook, incident_key, open_incident, stale_if_silent
from receiver.domain.placement import SeriesMatch, place
from receiver.domain.review import (
    ActionItem,
    ApprovalIncomplete,
    HumanFields,
    InvalidTransition,
    move,
)
from tests.conftest import hook

RULES = Rules(severity_map=DEFAULT_SEVERITY_MAP, reopen_window=timedelta(minutes=30))
NOW = datetime(2026, 11, 26, 19, 12, 0, tzinfo=UTC)
NOTE = TimelineEntry(
    at=NOW, phase=Phase.HANDLE, kind=EntryKind.NOTE, source=Source.MANUAL, dedup_key="note"
)


def firing(incident_id: int = 7) -> IncidentState:
    body = hook("firing_single")
    change = open_incident(body, incident_key(body), NOW, RULES)
    apply_webhook(change, body, NOW, RULES)
    change.state.incident.id = incident_id
    return change.state


def recovered(incident_id: int = 7) -> IncidentState:
    state = firing(incident_id)
    apply_webhook(Change(state=state), hook("resolved_single"), NOW, RULES)
    assert state.incident.status is IncidentStatus.RECOVERED
    return state


# -- placement: which incident a webhook joins ----------------------------------------


def test_the_incident_holding_an_episode_wins_over_the_open_one_of_the_key() -> None:
    body = hook("firing_single")
    alert = body.alerts[0]
    match = SeriesMatch(holders={(alert.fingerprint, alert.starts_at): 3}, open_firing=5)
    placed = place(body, match, firing(9).incident, NOW, RULES)
    assert placed.incident_id == 3
    assert placed.foreign == frozenset()


def test_the_open_incident_of_the_key_comes_before_one_firing_the_same_series() -> None:
    placed = place(
        hook("firing_single"), SeriesMatch({}, open_firing=5), firing(9).incident, NOW, RULES
    )
    assert placed.incident_id == 9


def test_an_open_incident_firing_the_series_takes_it_when_the_key_has_none_open() -> None:
    placed = place(hook("firing_single"), SeriesMatch({}, open_firing=5), None, NOW, RULES)
    assert placed.incident_id == 5


def test_a_recent_recovered_incident_reopens_and_an_old_or_approved_one_does_not() -> None:
    latest = recovered(9).incident
    assert latest.ended_at is not None
    body = hook("firing_single")
    soon = body.model_copy(
        update={
            "alerts": [a.model_copy(update={"starts_at": latest.ended_at}) for a in body.alerts]
        }
    )
    assert place(soon, SeriesMatch({}, None), latest, NOW, RULES).incident_id == 9
    late = body.model_copy(
        update={
            "alerts": [
                a.model_copy(update={"starts_at": latest.ended_at + timedelta(hours=2)})
                for a in body.alerts
            ]
        }
    )
    assert place(late, SeriesMatch({}, None), latest, NOW, RULES).incident_id is None
    approved = replace(latest, status=IncidentStatus.APPROVED)
    assert place(soon, SeriesMatch({}, None), approved, NOW, RULES).incident_id is None


def test_alerts_another_incident_holds_stay_there_after_a_regrouping() -> None:
    body = hook("firing_group_3")
    first, second = body.alerts[0], body.alerts[1]
    holders = {(first.fingerprint, first.starts_at): 2, (second.fingerprint, second.starts_at): 4}
    placed = place(body, SeriesMatch(holders, None), None, NOW, RULES)
    assert placed.incident_id == 2  # the lowest holder: the first incident to hold one
    assert placed.foreign == {(second.fingerprint, second.starts_at)}


# -- drafting: when a draft is written, and which revision ------------------------------


def test_no_draft_while_firing_and_one_on_recovery() -> None:
    assert not draft_wanted(Change(state=firing(), refresh_draft=True))
    state = firing()
    change = apply_webhook(Change(state=state), hook("resolved_single"), NOW, RULES)
    assert change.recovered
    assert draft_wanted(change)


def test_an_approved_postmortem_is_redrawn_only_when_asked() -> None:
    state = recovered()
    state.incident.status = IncidentStatus.APPROVED
    touched = Change(state=state)
    touched.add_entry(NOTE)
    assert touched.touched
    assert not draft_wanted(touched)
    assert draft_wanted(Change(state=state, refresh_draft=True))


def test_revisions_number_on_from_the_latest_and_a_refresh_keeps_it() -> None:
    later = NOW + timedelta(minutes=5)
    latest = Revision(2, NOW, "alice")
    first = next_revision(None, Change(state=recovered(), recovered=True), NOW)
    assert first == Revision(1, NOW, None)
    edited = Change(state=recovered(), revision_by="bob")
    assert next_revision(latest, edited, later) == Revision(3, later, "bob")
    refreshed = Change(state=recovered(), refresh_draft=True)
    assert next_revision(latest, refreshed, later) == latest


# -- stale threshold ------------------------------------------------------------------


def test_an_incident_goes_stale_only_once_unheard_of_for_the_threshold() -> None:
    after = timedelta(minutes=10)
    quiet = Change(state=firing())
    assert not stale_if_silent(quiet, NOW + after - timedelta(seconds=1), after).touched
    assert quiet.state.incident.status is IncidentStatus.FIRING
    stale = stale_if_silent(Change(state=firing()), NOW + after, after)
    assert stale.state.incident.status is IncidentStatus.STALE
    assert [e.kind for e in stale.new_entries] == [EntryKind.STALE]
    assert stale.new_entries[0].note == str(int(after.total_seconds()))
    assert stale.state.incident.updated_at == NOW + after


# -- review: the approval stamp -----------------------------------------------------


def test_approval_records_who_and_when_and_review_again_keeps_it() -> None:
    incident = recovered().incident
    incident.status = IncidentStatus.DRAFTED
    with pytest.raises(InvalidTransition):
        move(incident, IncidentStatus.APPROVED, "alice", NOW)
    move(incident, IncidentStatus.IN_REVIEW, "alice", NOW)
    assert (incident.approved_by, incident.approved_at) == (None, None)
    approved_at = NOW + timedelta(hours=1)
    move(incident, IncidentStatus.APPROVED, "bob", approved_at)
    assert (incident.approved_by, incident.approved_at) == ("bob", approved_at)
    assert incident.updated_at == approved_at
    move(incident, IncidentStatus.IN_REVIEW, "carol", approved_at + timedelta(minutes=1))
    assert (incident.approved_by, incident.approved_at) == ("bob", approved_at)


# -- evidence: which fetch writes a new revision ------------------------------------


def test_the_first_evidence_refreshes_the_draft_and_a_later_one_writes_a_revision() -> None:
    later = NOW + timedelta(minutes=3)
    first = evidence_stored(Change(state=recovered()), later, forced=False, earlier_attempts=0)
    assert first.refresh_draft
    assert first.revision_by is None
    assert first.state.incident.updated_at != later
    retry = evidence_stored(Change(state=recovered()), later, forced=False, earlier_attempts=1)
    forced = evidence_stored(Change(state=recovered()), later, forced=True, earlier_attempts=0)
    for change in (retry, forced):
        assert change.revision_by == EVIDENCE_AUTHOR
        assert change.state.incident.updated_at == later


# -- events: the timeline key of a person's event -----------------------------------


def test_an_event_key_is_its_idempotency_key_or_its_body_at_its_receipt_time() -> None:
    body = '{"type":"restart","service":"api"}'
    assert event_dedup_key("deploy-42", body, NOW) == "event:deploy-42"
    replayed = event_dedup_key(None, body, NOW)
    assert replayed == event_dedup_key("", body, NOW)  # an empty key is no key
    assert replayed.startswith("event:")
    assert len(replayed) == len("event:") + 32
    assert event_dedup_key(None, body, NOW + timedelta(seconds=1)) != replayed
    assert event_dedup_key(None, body + " ", NOW) != replayed


# -- updated_at moves with a person's change ----------------------------------------


def test_a_revision_by_a_person_moves_updated_at() -> None:
    change = Change(state=recovered())
    later = NOW + timedelta(days=1)
    change.revise("alice", later)
    assert change.revision_by == "alice"
    assert change.state.incident.updated_at == later
    assert draft_wanted(change)


# -- review: completeness and the approval gate -------------------------------------


def test_completeness_counts_parts_not_fields() -> None:
    empty = completeness(HumanFields())
    assert (empty.filled, empty.total, empty.missing) == (0, len(CHECKS), tuple(CHECKS))
    some = HumanFields(
        root_cause_external="CDN 故障",
        affected_users="全部",
        actions=[ActionItem(text="加监控")],  # no owner: the plan still lacks one
    )
    assert completeness(some).filled == 2
    assert missing_for_approval(some, DEFAULT_REQUIRED) == ["owner", "direct_cause", "actions"]
    owned = some.merged(
        {"owner": "张三", "direct_cause": "x", "actions": [{"text": "a", "owner": "b"}]}
    )
    assert missing_for_approval(owned, DEFAULT_REQUIRED) == []


def test_approval_with_missing_parts_needs_a_reason_that_it_records() -> None:
    incident = recovered().incident
    incident.status = IncidentStatus.IN_REVIEW
    with pytest.raises(ApprovalIncomplete) as refused:
        move(incident, IncidentStatus.APPROVED, "bob", NOW, missing=["owner"], override_reason=" ")
    assert refused.value.missing == ["owner"]
    assert incident.status is IncidentStatus.IN_REVIEW
    move(incident, IncidentStatus.APPROVED, "bob", NOW, missing=["owner"], override_reason=" 急 ")
    assert (incident.status, incident.approval_override) == (IncidentStatus.APPROVED, "急")
    move(incident, IncidentStatus.IN_REVIEW, "bob", NOW)
    move(incident, IncidentStatus.APPROVED, "bob", NOW, override_reason="unused")
    assert incident.approval_override is None  # nothing was missing: nothing overridden
