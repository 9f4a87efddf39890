"""Peaks, time in breach and crossings of series around an incident."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from receiver.evidence.promql import Threshold
from receiver.evidence.series import Series
from receiver.evidence.summary import breaches, infer_step, peak, summarize, top_by_peak

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
STEP = timedelta(minutes=1)
WHOLE = (T0 - timedelta(hours=1), T0 + timedelta(hours=1))
OVER = Threshold(">", 0.5)


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def series(values: Sequence[float | None], name: str = "a", start: float = 0) -> Series:
    """One sample a minute from `start`; None leaves a minute without a sample."""
    points = [(at(start + i), value) for i, value in enumerate(values) if value is not None]
    return Series({"instance": name}, points)


def test_peak_is_the_highest_value_and_the_earliest_of_equals() -> None:
    one = series([0.1, 0.9, 0.3, 0.9, 0.2])
    assert peak(one) == (at(1), 0.9)
    assert peak(series([])) is None
    assert peak(series([math.nan, 0.2, math.inf])) == (at(1), 0.2)


def test_breach_time_and_crossings_of_one_series() -> None:
    summary = summarize([series([0, 0, 1, 1, 1, 0, 0])], OVER, WHOLE, step=STEP)
    stats = summary.per_series[0].stats
    assert (stats.peak, stats.peak_at) == (1, at(2))
    assert stats.breach_time == timedelta(minutes=3)
    assert stats.breach_time_in_window == timedelta(minutes=3)
    assert stats.first_crossing == at(2)  # the first sample over
    assert stats.last_crossing == at(5)  # the first sample back under
    assert not stats.breaching_at_start
    assert not stats.breaching_at_end
    assert summary.step == STEP


def test_flapping_counts_every_sample_over_and_keeps_the_outer_crossings() -> None:
    stats = summarize([series([0, 1, 0, 1, 1, 0, 1, 0])], OVER, WHOLE, step=STEP).overall
    assert stats.breach_time == timedelta(minutes=4)
    assert (stats.first_crossing, stats.last_crossing) == (at(1), at(7))


def test_time_in_the_window_is_clipped_to_it() -> None:
    window = (at(3), at(3.5))
    stats = summarize([series([0, 0, 1, 1, 1, 0])], OVER, window, step=STEP).overall
    assert stats.breach_time == timedelta(minutes=3)
    assert stats.breach_time_in_window == timedelta(seconds=30)
    outside = summarize([series([1, 0])], OVER, (at(10), at(20)), step=STEP).overall
    assert outside.breach_time_in_window == timedelta(0)


def test_a_sample_stands_for_one_step_at_most() -> None:
    # over at minute 0, then nothing until minute 10: only one step counts
    stats = summarize([Series({}, [(at(0), 1), (at(10), 1)])], OVER, WHOLE, step=STEP).overall
    assert stats.breach_time == timedelta(minutes=2)
    # the last sample counts one step too
    last = summarize([series([0, 0, 1])], OVER, WHOLE, step=STEP).overall
    assert last.breach_time == STEP


def test_in_breach_at_either_end_has_no_crossing_there() -> None:
    start = summarize([series([1, 1, 0])], OVER, WHOLE, step=STEP).overall
    assert start.breaching_at_start
    assert start.first_crossing is None
    assert start.last_crossing == at(2)
    end = summarize([series([0, 1, 1])], OVER, WHOLE, step=STEP).overall
    assert end.breaching_at_end
    assert end.last_crossing is None
    assert end.first_crossing == at(1)


def test_a_lower_bound_threshold_breaches_below() -> None:
    stats = summarize([series([5, 2, 1, 5])], Threshold("<", 3), WHOLE, step=STEP).overall
    assert stats.breach_time == timedelta(minutes=2)
    assert (stats.first_crossing, stats.last_crossing) == (at(1), at(3))
    assert stats.peak == 5  # the peak is the highest value whatever the comparison


def test_overall_breach_time_is_when_any_series_was_in_breach() -> None:
    a = series([0, 1, 1, 1, 0, 0, 0], "a")
    b = series([0, 0, 0, 1, 1, 1, 0], "b")
    summary = summarize([a, b], OVER, WHOLE, step=STEP)
    assert [one.stats.breach_time for one in summary.per_series] == [
        timedelta(minutes=3),
        timedelta(minutes=3),
    ]
    assert summary.overall.breach_time == timedelta(minutes=5)  # minutes 1-6, not 3+3
    assert summary.overall.first_crossing == at(1)
    assert summary.overall.last_crossing == at(6)


def test_overall_crossings_hide_when_any_series_is_in_breach_at_an_end() -> None:
    a = series([0, 1, 0], "a")
    b = series([1, 1, 1], "b")
    overall = summarize([a, b], OVER, WHOLE, step=STEP).overall
    assert overall.breaching_at_start
    assert overall.breaching_at_end
    assert overall.first_crossing is None
    assert overall.last_crossing is None


def test_the_overall_peak_names_its_series() -> None:
    a = series([1, 3, 2], "a")
    b = series([2, 1, 3, 0], "b", start=0.5)
    summary = summarize([a, b], None, WHOLE, step=STEP)
    assert summary.overall.peak == 3
    assert summary.overall.peak_at == at(1)  # the earlier of the two threes
    assert summary.peak_series is a


def test_without_a_threshold_only_the_peak_is_measured() -> None:
    summary = summarize([series([1, 2])], None, WHOLE, step=STEP)
    for stats in (summary.overall, summary.per_series[0].stats):
        assert stats.peak == 2
        assert stats.breach_time is None
        assert stats.breach_time_in_window is None
        assert stats.first_crossing is None
        assert stats.last_crossing is None


def test_nan_and_inf_samples_are_skipped() -> None:
    summary = summarize([series([0, math.nan, 1, math.inf, 0])], OVER, WHOLE, step=STEP)
    stats = summary.overall
    assert stats.peak == 1
    assert stats.breach_time == STEP  # minute 2 until minute 3, where the inf was
    assert (stats.first_crossing, stats.last_crossing) == (at(2), at(4))


def test_no_series_at_all() -> None:
    summary = summarize([], OVER, WHOLE)
    assert summary.per_series == []
    assert summary.peak_series is None
    assert summary.overall.peak is None
    assert summary.overall.peak_at is None
    assert summary.overall.breach_time == timedelta(0)
    assert summary.step == timedelta(0)


def test_the_step_is_inferred_from_the_samples() -> None:
    a = Series({}, [(at(0), 0), (at(2), 0), (at(4), 0)])
    b = Series({}, [(at(0), 0), (at(1), 1)])
    assert infer_step([a, b]) == STEP
    assert infer_step([Series({}, [(at(0), 0)])]) == timedelta(0)
    assert summarize([a, b], OVER, WHOLE).step == STEP


def test_top_by_peak_keeps_the_highest_with_ties_by_labels() -> None:
    low = series([1, 2], "low")
    high = series([9], "high")
    tie_b = series([5], "b")
    tie_a = series([5], "a")
    empty = series([], "empty")
    everything = [low, empty, tie_b, high, tie_a]
    assert top_by_peak(everything, 10) == [high, tie_a, tie_b, low, empty]
    assert top_by_peak(everything, 2) == [high, tie_a]
    assert top_by_peak(everything, 0) == []
    assert top_by_peak(reversed(everything), 3) == [high, tie_a, tie_b]


def test_breaches_are_each_crossing_and_the_first_sample_back() -> None:
    flapping = series([0, 1, 1, 0, math.nan, 1, 0, 0, 1])
    assert breaches(flapping, OVER) == [(at(1), at(3)), (at(5), at(6)), (at(8), None)]
    assert breaches(series([0, 0.2]), OVER) == []
    # beyond the limit the earliest merge into one longer breach; the latest stay exact
    merged = breaches(flapping, OVER, keep=2)
    assert merged == [(at(1), at(6)), (at(8), None)]
