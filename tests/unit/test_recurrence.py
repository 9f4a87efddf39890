"""The recurrence match (issue 21): same key, or same alertname and service; the last three."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from receiver.domain.recurrence import (
    IncidentSketch,
    MatchReason,
    mean_time_between,
    similar_incidents,
)

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def sketch(
    id: int,
    *,
    key: str = "k1",
    alertname: str = "HighErrorRate",
    service: str = "checkout",
    day: int = 0,
    hours: int = 1,
) -> IncidentSketch:
    start = T0 + timedelta(days=day)
    return IncidentSketch(id, key, alertname, service, start, start + timedelta(hours=hours))


def test_same_key_is_named_before_same_alertname() -> None:
    now = sketch(9, day=10)
    found = similar_incidents(now, [sketch(1, day=1)])
    assert [(r.past.id, r.reason) for r in found] == [(1, MatchReason.SAME_KEY)]


def test_same_alertname_and_service_under_another_key() -> None:
    now = sketch(9, day=10)
    found = similar_incidents(now, [sketch(2, key="other", day=2)])
    assert [(r.past.id, r.reason) for r in found] == [(2, MatchReason.SAME_ALERT)]


def test_another_service_or_alertname_does_not_match() -> None:
    now = sketch(9, day=10)
    others = [
        sketch(3, key="other", service="search", day=3),
        sketch(4, key="other", alertname="DiskFull", day=4),
    ]
    assert similar_incidents(now, others) == []


def test_without_an_alertname_only_the_key_matches() -> None:
    now = sketch(9, key="m", alertname="", day=10)
    past = [sketch(1, key="x", alertname="", day=1), sketch(2, key="m", alertname="", day=2)]
    assert [r.past.id for r in similar_incidents(now, past)] == [2]


def test_the_last_three_newest_first_and_never_itself_or_later() -> None:
    now = sketch(9, day=10)
    past = [sketch(i, day=i) for i in range(1, 6)] + [sketch(9, day=10), sketch(10, day=11)]
    assert [r.past.id for r in similar_incidents(now, past)] == [5, 4, 3]


def test_mtbf_from_each_end_to_the_next_start() -> None:
    now = sketch(9, day=10)
    linked = similar_incidents(now, [sketch(1, day=0, hours=2), sketch(2, day=4, hours=2)])
    # day 0 08:00-10:00 → day 4 08:00: 94 h; day 4 10:00 → day 10 08:00: 142 h
    assert mean_time_between(now.started_at, linked) == timedelta(hours=118)


def test_no_mtbf_without_a_past_end() -> None:
    now = sketch(9, day=10)
    open_one = IncidentSketch(1, "k1", "HighErrorRate", "checkout", T0, None)
    assert mean_time_between(now.started_at, similar_incidents(now, [open_one])) is None
    assert mean_time_between(now.started_at, []) is None
