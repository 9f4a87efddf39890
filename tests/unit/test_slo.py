"""The SLO arithmetic, checked against figures computed by hand: counter growth with
resets and gaps, the impact window from the SLI, the budget burned, and the policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from receiver.domain.kpi import Period
from receiver.domain.slo import (
    ImpactWindow,
    SloFacts,
    Triggers,
    budget_burned,
    budget_burned_by_time,
    error_ratios,
    evaluate,
    events_in,
    impact_window,
    increases,
    summed,
)
from receiver.domain.slo_kpi import SloIncident, budget_by_month, detect_by_month
from receiver.evidence.promql import is_selector
from receiver.evidence.series import Series
from receiver.evidence.slo import measure_counted, measure_ratio, since
from receiver.notify.compose import postmortem_text

T0 = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
GAP = timedelta(minutes=5)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def points(*values: float | None, every: float = 1.0) -> list[tuple[datetime, float]]:
    """One sample a minute (or `every`); None is a missing sample: a gap."""
    return [(at(i * every), v) for i, v in enumerate(values) if v is not None]


# --- counters ---------------------------------------------------------------------


def test_growth_per_step_dated_by_its_start_and_a_reset_counts_the_new_value() -> None:
    # 100 → 130 → 160 → (restart) 20 → 50: growth 30, 30, 20 (from zero), 30
    assert increases(points(100, 130, 160, 20, 50)) == [
        (at(0), 30),
        (at(1), 30),
        (at(2), 20),
        (at(3), 30),
    ]


def test_a_gap_makes_one_longer_step() -> None:
    # minute 2 missing: 10 → 50 from minute 1 to 3 is one step of 40
    assert increases(points(0, 10, None, 50)) == [(at(0), 10), (at(1), 40)]


def test_series_are_added_after_each_is_read_for_resets() -> None:
    a = increases(points(100, 110, 5))  # growth 10, then reset: 5
    b = increases(points(40, 50, 60))  # growth 10, 10
    # summing first would read 140 → 160 → 65 as a reset of everything: growth 20, 65
    assert summed([a, b]) == {at(0): 20, at(1): 15}


def test_error_ratio_per_step_leaves_out_steps_without_traffic() -> None:
    bad = {at(1): 1.0, at(2): 0.0, at(3): 5.0}
    total = {at(1): 100.0, at(2): 0.0, at(3): 10.0}
    assert error_ratios(bad, total) == [(at(1), 0.01), (at(3), 0.5)]


# --- the impact window --------------------------------------------------------------


def test_impact_is_the_breach_going_on_when_the_alert_fired() -> None:
    # SLI out of objective 14:02–14:31, alert 14:07–14:35: the impact starts 5 min earlier
    found = impact_window([(at(2), at(31))], at(7), at(35), GAP)
    assert found == ImpactWindow(at(2), at(31))
    assert found is not None
    assert at(7) - found.start == timedelta(minutes=5)  # time to detect


def test_a_flicker_is_one_impact_but_an_old_blip_is_not_the_incidents() -> None:
    breaches = [
        (at(-20), at(-19)),  # a blip long before: another story
        (at(0), at(4)),  # out, back for 3 minutes, out again: one impact
        (at(7), at(12)),
        (at(20), at(25)),  # again before the alerts resolved: still this incident
        (at(40), at(41)),  # after the alerts resolved: not this incident
    ]
    assert impact_window(breaches, at(8), at(30), GAP) == ImpactWindow(at(0), at(25))


def test_an_impact_that_began_after_the_alert_fired() -> None:
    # a latency alert that fired first: the SLI missed its objective two minutes later
    assert impact_window([(at(12), at(20))], at(10), at(30), GAP) == ImpactWindow(at(12), at(20))


def test_an_impact_that_never_recovers_inside_the_window_has_no_end() -> None:
    found = impact_window([(at(0), at(3)), (at(5), None)], at(4), at(30), GAP)
    assert found == ImpactWindow(at(0), None)
    assert found is not None
    assert found.duration(at(45)) == timedelta(minutes=45)


def test_no_impact_when_the_sli_met_its_objective() -> None:
    assert impact_window([], at(0), at(30), GAP) is None
    assert impact_window([(at(-30), at(-20))], at(0), at(30), GAP) is None
    assert impact_window([(at(31), at(35))], at(0), at(30), GAP) is None


def test_impact_from_counters_with_a_gap_and_a_reset() -> None:
    """Two pods, 1000 requests a minute in all; from minute 2 to 6 one in ten fails.
    Pod b restarts at minute 5; minute 8 is missing (a failed scrape). Objective 99.9%."""
    # cumulative counters, hand-written: good = total − bad
    total_a = points(0, 500, 1000, 1500, 2000, 2500, 3000, 3500, None, 4500, 5000)
    total_b = points(0, 500, 1000, 1500, 2000, 500, 1000, 1500, None, 2500, 3000)
    good_a = points(0, 500, 1000, 1450, 1900, 2350, 2800, 3300, None, 4300, 4800)
    good_b = points(0, 500, 1000, 1450, 1900, 450, 900, 1400, None, 2400, 2900)
    measured = measure_counted(
        [Series({"pod": "a"}, good_a), Series({"pod": "b"}, good_b)],
        [Series({"pod": "a"}, total_a), Series({"pod": "b"}, total_b)],
        counts_good=True,
        objective=0.999,
        incident=(at(4), at(9)),
    )
    # steps by their start: 2–3 and 3–4 100 bad of 1000 each; 4–5 a 50 bad, b reset (500
    # events, 50 bad); 5–6 100; 6–7 none; 7–9 (the gap) 2000 events, none bad
    assert measured.ratios[:8] == [
        (at(0), 0.0),
        (at(1), 0.0),
        (at(2), 0.1),
        (at(3), 0.1),
        (at(4), 0.1),
        (at(5), 0.1),
        (at(6), 0.0),
        (at(7), 0.0),
    ]
    impact = measured.impact
    assert impact == ImpactWindow(at(2), at(6))  # exactly when the failures were
    assert events_in(measured.bad, impact, measured.until) == 400
    assert events_in(measured.total, impact, measured.until) == 4000


def test_an_error_ratio_sli_takes_the_worst_series_per_step() -> None:
    a = Series({"shard": "1"}, points(0.0, 0.02, 0.03, 0.0))
    b = Series({"shard": "2"}, points(0.0, 0.0, 0.05, 0.0005))
    measured = measure_ratio([a, b], 0.999, (at(1), at(3)))
    assert [ratio for _, ratio in measured.ratios] == [0.0, 0.02, 0.05, 0.0005]
    assert measured.impact == ImpactWindow(at(1), at(3))  # 0.0005 is within 0.1%


# --- the budget -------------------------------------------------------------------


def test_budget_burned_is_bad_events_over_the_windows_allowance() -> None:
    # 30 days of 1,200,000 requests at 99.9% allow 1,200 bad ones; 444 were bad: 37%
    assert budget_burned(444, 1_200_000, 0.999) == pytest.approx(0.37)
    assert budget_burned(0, 1_200_000, 0.999) == 0
    assert budget_burned(5, 0, 0.999) is None  # no traffic, no budget


def test_budget_burned_from_ratios_alone_is_burn_rate_times_duration() -> None:
    # 10% errors for 20 one-minute steps against 99.9% over 30 days:
    # 20 min × 0.1 = 2 error-minutes of 43.2 allowed (0.001 × 43,200 min) = 4.63%
    ratios = [(at(i), 0.1) for i in range(20)]
    burned = budget_burned_by_time(ratios, timedelta(minutes=1), timedelta(days=30), 0.999)
    assert burned == pytest.approx(2 / 43.2)


# --- the policy -----------------------------------------------------------------------

TRIGGERS = Triggers(budget_burned_percent=5, impact_minutes=30, detect_minutes=15)


def facts(burned: float | None, impact: float | None, detect: float | None) -> SloFacts:
    def span(minutes: float | None) -> timedelta | None:
        return None if minutes is None else timedelta(minutes=minutes)

    return SloFacts("availability", burned, span(impact), span(detect))


def test_the_policy_names_the_first_trigger_met() -> None:
    assert evaluate(TRIGGERS, "P2", [facts(0.37, 29, 5)]).trigger == "budget"
    verdict = evaluate(TRIGGERS, "P2", [facts(0.01, 45, 5)])
    assert (verdict.required, verdict.trigger, verdict.detail) == (True, "impact", "45.0")
    assert evaluate(TRIGGERS, "P2", [facts(0.01, 20, 16)]).trigger == "detect"
    assert evaluate(TRIGGERS, "P1", [facts(0.0, 1, 0)]).trigger == "priority"
    assert evaluate(TRIGGERS, "P3", [], promoted_by="zhangsan").trigger == "person"


def test_a_tiny_incident_needs_no_postmortem_unless_figures_were_missing() -> None:
    verdict = evaluate(TRIGGERS, "P2", [facts(0.004, 2, 1)])
    assert (verdict.required, verdict.trigger, verdict.unknown) == (False, "none", False)
    assert evaluate(TRIGGERS, "P2", [facts(None, None, None)], complete=False).unknown


def test_triggers_switched_off_are_not_met() -> None:
    quiet = Triggers(budget_burned_percent=None, impact_minutes=None, detect_minutes=None)
    assert not evaluate(quiet, "P2", [facts(0.9, 600, 60)]).required


def test_the_chat_messages_say_the_verdict_in_the_language() -> None:
    required = evaluate(TRIGGERS, "P2", [facts(0.37, 29, 5)])
    assert postmortem_text(required, "zh") == "需要（错误预算消耗 37.0%，SLO availability）"
    assert (
        postmortem_text(required, "en") == "required (error budget burned 37.0%, SLO availability)"
    )
    tiny = evaluate(TRIGGERS, "P2", [facts(0.004, 2, 1)])
    assert postmortem_text(tiny, "zh") == "无需（no_postmortem_needed：未达到任何触发条件）"


def test_event_counters_must_be_plain_selectors() -> None:
    assert is_selector('http_requests_total{job="checkout",code!~"5.."}')
    assert is_selector("http_requests_total")
    assert is_selector('{__name__="http_requests_total"}')
    assert not is_selector("sum(rate(http_requests_total[5m]))")
    assert not is_selector("http_requests_total[5m]")
    assert not is_selector('a{x="1"} / b')
    assert not is_selector("offset")
    assert not is_selector("")


def test_the_previous_incidents_impact_is_not_this_ones() -> None:
    # the service's previous incident ended at minute 10; its impact ended at 8, and a
    # breach going on since 9 is this incident's only from 10 on
    found = since([(at(0), at(8)), (at(9), at(16)), (at(18), at(20))], at(10))
    assert found == [(at(10), at(16)), (at(18), at(20))]
    assert impact_window(found, at(12), at(25), GAP) == ImpactWindow(at(10), at(20))
    assert since([(at(0), at(8))], None) == [(at(0), at(8))]


# --- the KPI page -------------------------------------------------------------------


def test_budget_per_service_slo_and_month_and_the_detect_trend() -> None:
    november = Period("2026-11", at(0), at(60 * 24 * 30))
    december = Period("2026-12", at(60 * 24 * 30), at(60 * 24 * 61))
    later = 60 * 24 * 35  # minutes: in December

    def one(
        incident: int,
        service: str,
        minutes: float,
        burned: float | None,
        impact: float | None,
        slo: str = "availability",
    ) -> SloIncident:
        start = None if impact is None else at(minutes - impact)
        return SloIncident(incident, service, slo, at(minutes), burned, start)

    items = [
        one(1, "checkout", 10, 0.37, 5),  # detected 5 min after the impact began
        one(1, "checkout", 10, 0.02, 8, slo="latency"),  # its earliest impact: 8 min
        one(2, "checkout", 100, 0.05, None),  # the SLI met its objective: no detect
        one(3, "payments", 200, None, None),  # not measured
        one(4, "checkout", later, 0.5, 2),
    ]
    budget = budget_by_month(items, [november, december])
    assert [(b.service, b.slo, b.month, round(b.burned, 4), b.incidents) for b in budget] == [
        ("checkout", "availability", "2026-11", 0.42, 2),
        ("checkout", "availability", "2026-12", 0.5, 1),
        ("checkout", "latency", "2026-11", 0.02, 1),
    ]
    detect = detect_by_month(items, [november, december])
    assert [(d.month, d.detect.value, d.detect.count) for d in detect] == [
        ("2026-11", timedelta(minutes=8), 1),
        ("2026-12", timedelta(minutes=2), 1),
    ]
