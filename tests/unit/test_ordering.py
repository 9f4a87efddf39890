"""Timeline rows in one order everywhere: by time, same-moment alert rows by instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from receiver.domain.incident import EntryKind, Phase, Source, TimelineEntry
from receiver.domain.ordering import in_display_order, natural_key

AT = datetime(2026, 11, 26, 19, 11, 48, tzinfo=UTC)


def entry(kind: EntryKind, subject: str, at: datetime = AT) -> TimelineEntry:
    return TimelineEntry(
        at, Phase.RECOVER, kind, Source.RECONCILE, f"{kind}:{subject}", None, subject
    )


def test_natural_key_orders_numbers_by_value() -> None:
    names = ["10.0.2.11:9100", "10.0.2.9:9100", "10.0.2.10:9100", "db-2", "db-10"]
    assert sorted(names, key=natural_key) == [
        "10.0.2.9:9100",
        "10.0.2.10:9100",
        "10.0.2.11:9100",
        "db-2",
        "db-10",
    ]


def test_same_time_alert_rows_follow_the_instance_and_other_rows_keep_their_place() -> None:
    stored = [
        entry(EntryKind.ALERT_GONE, "10.0.2.11:9100"),
        entry(EntryKind.ALERT_GONE, "10.0.2.9:9100"),
        entry(EntryKind.ALL_RESOLVED, "2"),
        entry(EntryKind.VERIFY, "verify", AT - timedelta(minutes=1)),
    ]
    for order in (stored, list(reversed(stored[:2])) + stored[2:]):
        assert [(e.kind, e.subject) for e in in_display_order(order)] == [
            (EntryKind.VERIFY, "verify"),
            (EntryKind.ALERT_GONE, "10.0.2.9:9100"),
            (EntryKind.ALERT_GONE, "10.0.2.11:9100"),
            (EntryKind.ALL_RESOLVED, "2"),
        ]
