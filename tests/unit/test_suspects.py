"""The ranking of changes as an incident's suspects: hand-made cases, one rule each."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from receiver.config import ConfigError, load_settings
from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from receiver.domain.suspects import (
    IncidentFacts,
    RankingRules,
    Suspect,
    Verdict,
    VerdictMark,
    candidates,
    rank,
)

FIRST_ALERT = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)
RECOVERED = FIRST_ALERT + timedelta(minutes=40)
ALERTS = (
    {"alertname": "HighErrorRate", "service": "payments", "namespace": "prod", "cluster": "sh1"},
    {"alertname": "HighLatency", "service": "payments", "namespace": "prod", "cluster": "sh1"},
)
FACTS = IncidentFacts(ALERTS, FIRST_ALERT, RECOVERED)
RULES = RankingRules()


def change(
    source_id: str,
    minutes: float,
    *,
    service: str = "payments",
    namespace: str | None = "prod",
    cluster: str | None = "sh1",
    source: ChangeSource = ChangeSource.FLUX,
    type: ChangeType = ChangeType.DEPLOY,
    change_id: int | None = None,
    labels: dict[str, str] | None = None,
) -> ServiceChange:
    """A change `minutes` after the first alert (negative: before it)."""
    return ServiceChange(
        source=source,
        source_id=source_id,
        type=type,
        service=service,
        summary=f"change {source_id}",
        started_at=FIRST_ALERT + timedelta(minutes=minutes),
        namespace=namespace,
        cluster=cluster,
        labels=labels or {},
        id=change_id,
    )


def ids(suspects: Sequence[Suspect]) -> list[str]:
    return [s.change.source_id for s in suspects]


def test_the_same_service_outranks_a_closer_change_that_shares_only_the_namespace() -> None:
    same_service = change("same-service", -50)
    same_namespace = change("neighbour", -5, service="orders")
    ranked = rank([same_namespace, same_service], FACTS, RULES)
    assert ids(ranked) == ["same-service", "neighbour"]
    assert ranked[0].shared == ("service", "namespace", "cluster")
    assert ranked[1].shared == ("namespace", "cluster")
    assert ranked[0].score > ranked[1].score > 0


def test_among_equal_shares_the_change_just_before_the_first_alert_comes_first() -> None:
    ranked = rank([change("early", -90), change("late", -10), change("mid", -30)], FACTS, RULES)
    assert ids(ranked) == ["late", "mid", "early"]


def test_a_change_after_the_first_alert_is_listed_after_those_before_it_and_no_candidate() -> None:
    after = change("during", 5)
    before = change("before", -60, namespace=None, cluster=None)  # shares the service only
    ranked = rank([after, before], FACTS, RULES)
    assert ids(ranked) == ["before", "during"]
    assert ranked[1].offset == timedelta(minutes=5)
    assert not ranked[1].before_first_alert
    assert ids(candidates(ranked)) == ["before"]


def test_a_change_at_the_very_moment_of_the_first_alert_counts_as_before_it() -> None:
    ranked = rank([change("same-second", 0)], FACTS, RULES)
    assert ranked[0].before_first_alert
    assert ids(candidates(ranked)) == ["same-second"]


def test_ties_break_by_source_then_source_id_whatever_the_input_order() -> None:
    tied = [
        change("b", -10, source=ChangeSource.GITHUB),
        change("a", -10, source=ChangeSource.GITHUB),
        change("z", -10, source=ChangeSource.ARGOCD),
    ]
    expected = ["z", "a", "b"]  # argocd < github; then "a" < "b"
    for seed in range(5):
        shuffled = tied[:]
        random.Random(seed).shuffle(shuffled)
        assert ids(rank(shuffled, FACTS, RULES)) == expected


def test_a_change_sharing_no_label_is_left_out() -> None:
    other = change("elsewhere", -5, service="search", namespace="staging", cluster="bj2")
    assert rank([other], FACTS, RULES) == []


def test_only_changes_inside_the_window_until_recovery_count() -> None:
    too_early = change("too-early", -121)
    edge = change("edge", -120)
    after_recovery = change("after-recovery", 41)
    ranked = rank([too_early, edge, after_recovery], FACTS, RULES)
    assert ids(ranked) == ["edge"]
    wider = RankingRules(window=timedelta(hours=3))
    assert ids(rank([too_early, edge], FACTS, wider)) == ["edge", "too-early"]


def test_the_label_map_names_which_alert_label_matches_which_change_field() -> None:
    # the alerts say app=payments-api; the change names its service payments-api
    alerts = ({"alertname": "Down", "app": "payments-api", "team": "pay"},)
    facts = IncidentFacts(alerts, FIRST_ALERT, RECOVERED)
    by_app = change("by-app", -5, service="payments-api", namespace=None, cluster=None)
    by_team = change("by-team", -5, service="ledger", namespace=None, labels={"team": "pay"})
    assert ids(rank([by_app, by_team], facts, RULES)) == ["by-app"]  # team is not mapped
    rules = RankingRules(label_map={"app": "service", "team": "team"})
    ranked = rank([by_app, by_team], facts, rules)
    assert ids(ranked) == ["by-app", "by-team"]
    assert ranked[1].shared == ("team",)


def test_a_service_the_alerts_name_as_related_counts_least_but_counts() -> None:
    alerts = ({"alertname": "Slow", "service": "payments", "upstream": "mysql-main"},)
    facts = IncidentFacts(alerts, FIRST_ALERT, RECOVERED)
    db = change("db", -3, service="mysql-main", namespace=None, cluster=None)
    own = change("own", -100, namespace=None, cluster=None)
    assert ids(rank([db, own], facts, RULES)) == ["own"]  # not configured as related
    rules = RankingRules(related_labels=("upstream",))
    ranked = rank([db, own], facts, rules)
    assert ids(ranked) == ["own", "db"]
    assert ranked[1].related_only
    assert ranked[1].candidate


def test_a_change_marked_the_cause_comes_first_and_one_marked_unrelated_is_no_candidate() -> None:
    near = change("near", -5, change_id=1)
    far = change("far", -60, change_id=2)
    during = change("during", 10, change_id=3)
    said = [
        VerdictMark(1, Verdict.UNRELATED, "zhangsan", RECOVERED),
        VerdictMark(3, Verdict.CAUSE, "lisi", RECOVERED),
    ]
    ranked = rank([near, far, during], FACTS, RULES, said)
    assert ids(ranked) == ["during", "far", "near"]
    assert ids(candidates(ranked)) == ["during", "far"]
    assert ranked[2].verdict is not None
    assert ranked[2].verdict.actor == "zhangsan"


def test_at_most_three_candidates_best_first() -> None:
    many = [change(f"c{n}", -n) for n in range(1, 6)]
    assert ids(candidates(rank(many, FACTS, RULES))) == ["c1", "c2", "c3"]


def test_the_same_inputs_always_give_the_same_order() -> None:
    many = [
        change(f"c{n}", -(n % 4) * 10, service=("payments", "orders")[n % 2]) for n in range(12)
    ]
    first = ids(rank(many, FACTS, RULES))
    assert ids(rank(list(reversed(many)), FACTS, RULES)) == first


def test_the_settings_give_the_rules() -> None:
    settings = load_settings(
        config_file=None,
        change_window="3h",
        change_label_map="app=service,team=team",
        change_related_labels="upstream, database",
    )
    assert settings.ranking_rules == RankingRules(
        timedelta(hours=3), {"app": "service", "team": "team"}, ("upstream", "database")
    )
    assert load_settings().ranking_rules == RankingRules()
    with pytest.raises(ConfigError, match="RECEIVER_CHANGE_WINDOW"):
        load_settings(change_window="0s")
    with pytest.raises(ConfigError, match="RECEIVER_CHANGE_LABEL_MAP"):
        load_settings(change_label_map="app=")
