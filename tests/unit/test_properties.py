"""Property: any interleaving, duplication or reordering of a real delivery sequence —
the shapes Alertmanager retries and HA pairs produce — ends in the same incident,
episodes and timeline as the ordered sequence. Pure domain code; no I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from receiver.alertmanager.webhook import Webhook
from receiver.config import DEFAULT_SEVERITY_MAP
from receiver.domain.incident import Change, IncidentState, Rules
from receiver.domain.lifecycle import apply_webhook, incident_key, open_incident
from tests.conftest import capture

RULES = Rules(severity_map=DEFAULT_SEVERITY_MAP)
START = datetime(2026, 11, 26, 19, 12, tzinfo=UTC)

# Real delivery sequences of one group, each as Alertmanager sent it.
SEQUENCES = {
    "fire, resolve": ["firing_group_3", "resolved_group_3"],
    "partial resolve, rest resolved": ["partial_resolve", "partial_resolve_then_rest_resolved"],
    "truncated fire, truncated resolve": ["truncated_max_alerts", "truncated_max_alerts_resolved"],
    "fire only": ["firing_single", "repeat_notification"],
}


def ha_copy(body: dict[str, Any]) -> dict[str, Any]:
    """What the second peer of an HA pair sends: the same notification, its own URL."""
    return {**body, "externalURL": body["externalURL"] + "0"}


def outcome(bodies: list[dict[str, Any]]) -> tuple[Any, ...]:
    state: IncidentState | None = None
    for index, body in enumerate(bodies):
        hook = Webhook.parse(body)
        now = START + timedelta(seconds=index)
        if state is None:
            change = open_incident(hook, incident_key(hook), now, RULES)
        else:
            change = Change(state=state)
        state = apply_webhook(change, hook, now, RULES).state
    assert state is not None
    incident = state.incident
    episodes = sorted(
        (key, episode.resolved, episode.ends_at) for key, episode in state.episodes.items()
    )
    return (
        incident.status,
        incident.cycle,
        incident.started_at,
        incident.ended_at,
        episodes,
        sorted(state.entry_keys),
    )


deliveries = st.sampled_from(sorted(SEQUENCES)).flatmap(
    lambda name: st.tuples(
        st.just(name),
        # every notification at least once, some twice or three times, some from both peers
        st.lists(
            st.tuples(st.sampled_from(range(len(SEQUENCES[name]))), st.booleans()),
            min_size=0,
            max_size=6,
        ),
        st.randoms(use_true_random=False),
    )
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(deliveries)
def test_any_interleaving_ends_like_the_ordered_sequence(case: Any) -> None:
    name, extra, rng = case
    ordered = [capture(file) for file in SEQUENCES[name]]
    shuffled = [json.loads(json.dumps(body)) for body in ordered]
    for index, from_other_peer in extra:
        body = ordered[index]
        shuffled.append(ha_copy(body) if from_other_peer else json.loads(json.dumps(body)))
    rng.shuffle(shuffled)
    assert outcome(shuffled) == outcome(ordered), name
