"""The change-failure rate per service: deploys and config changes followed by an
incident of the same service within the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from receiver.domain.kpi import ChangeFailure, change_failures

T0 = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW = timedelta(hours=2)


def change(
    n: int, service: str, hours: float, type: ChangeType = ChangeType.DEPLOY
) -> ServiceChange:
    return ServiceChange(
        source=ChangeSource.GITHUB,
        source_id=str(n),
        type=type,
        service=service,
        summary=f"change {n}",
        started_at=T0 + timedelta(hours=hours),
    )


def test_a_change_fails_when_its_service_has_an_incident_within_the_window_after_it() -> None:
    changes = [
        change(1, "payments", 0),  # incident 1 h later: failed
        change(2, "payments", 10),  # incident 3 h later: outside the window
        change(3, "payments", 20, ChangeType.CONFIG),  # incident 2 h later: at the edge
        change(4, "search", 0),  # the payments incident is another service's
        change(5, "payments", 30, ChangeType.ROLLBACK),  # a response: not counted
    ]
    incidents = [
        ("payments", T0 + timedelta(hours=1)),
        ("payments", T0 + timedelta(hours=13)),
        ("payments", T0 + timedelta(hours=22)),
        ("payments", T0 + timedelta(hours=29)),  # an hour before the rollback
    ]
    assert change_failures(changes, incidents, WINDOW) == (
        ChangeFailure("payments", 3, 2),
        ChangeFailure("search", 1, 0),
    )


def test_an_incident_before_the_change_does_not_count() -> None:
    found = change_failures(
        [change(1, "payments", 5)], [("payments", T0 + timedelta(hours=4))], WINDOW
    )
    assert found == (ChangeFailure("payments", 1, 0),)
    assert found[0].rate == 0.0


def test_no_changes_no_rows() -> None:
    assert change_failures([], [("payments", T0)], WINDOW) == ()
