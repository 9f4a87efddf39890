"""SLO settings are checked at start: their shape, names and windows, each problem named
as the config file has it; the policy's triggers as the domain weighs them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from receiver.config import ConfigError, load_settings
from receiver.domain.slo import Triggers

PROMETHEUS = "http://prometheus:9090"
GOOD = 'http_requests_total{code!~"5.."}'
TOTAL = "http_requests_total"


def problems_of(**overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_settings(prometheus_url=PROMETHEUS, **overrides)
    return [problem.line() for problem in error.value.problems]


def test_a_service_may_have_several_slos() -> None:
    settings = load_settings(
        prometheus_url=PROMETHEUS,
        slos={
            "checkout": [
                {"name": "availability", "objective": 99.9, "good": GOOD, "total": TOTAL},
                {
                    "name": "latency",
                    "kind": "latency",
                    "latency_threshold": "300ms",
                    "objective": 99,
                    "window": "28d",
                    "good": 'http_request_duration_seconds_bucket{le="0.3"}',
                    "total": "http_request_duration_seconds_count",
                },
                {"name": "errors", "objective": 99.5, "error_ratio": "slo:sli_error:ratio_rate5m"},
            ]
        },
    )
    availability, latency, errors = settings.slos["checkout"]
    assert availability.target == pytest.approx(0.999)
    assert availability.window == timedelta(days=30)
    assert availability.counters() == (GOOD, TOTAL)
    assert latency.latency_threshold == timedelta(milliseconds=300)
    assert latency.window == timedelta(days=28)
    assert errors.counters() is None


@pytest.mark.parametrize(
    ("slo", "says"),
    [
        ({"good": GOOD}, "set total with one of good or bad, or set error_ratio"),
        ({"good": GOOD, "bad": "x", "total": TOTAL}, "set total with one of good or bad"),
        ({"error_ratio": "r", "total": TOTAL}, "set error_ratio, or good (or bad) with total"),
        ({"kind": "latency", "good": GOOD, "total": TOTAL}, "needs latency_threshold"),
        ({"window": "10m", "good": GOOD, "total": TOTAL}, "an SLO window is from 1h to 400d"),
        ({"objective": 100, "good": GOOD, "total": TOTAL}, "less than 100"),
    ],
)
def test_a_bad_slo_is_refused_saying_why(slo: dict[str, Any], says: str) -> None:
    [problem] = problems_of(slos={"checkout": [{"name": "a", "objective": 99, **slo}]})
    assert problem.startswith("RECEIVER_SLOS.checkout.0")
    assert says in problem


def test_two_slos_of_a_service_cannot_share_a_name() -> None:
    twice = {"name": "availability", "objective": 99.9, "good": GOOD, "total": TOTAL}
    [problem] = problems_of(slos={"checkout": [twice, twice]})
    assert "more than one SLO named availability" in problem


def test_the_policys_triggers_switched_on() -> None:
    settings = load_settings(
        postmortem_policy={"triggers": ["budget", "priority"], "budget_burned_percent": 10}
    )
    assert settings.postmortem_policy.triggers_on() == Triggers(
        budget_burned_percent=10, impact_minutes=None, detect_minutes=None, priorities=("P0", "P1")
    )
    [problem] = problems_of(postmortem_policy={"triggers": ["vibes"]})
    assert problem.startswith("RECEIVER_POSTMORTEM_POLICY.triggers.0")
