"""One order for timeline rows wherever they are shown (draft tables, appendix, page).
Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import groupby
from typing import Any

from receiver.domain.incident import EntryKind, TimelineEntry

_DIGIT_RUNS = re.compile(r"(\d+)")
# rows that are one per alert: at the same moment, they follow their subject
_PER_ALERT = (EntryKind.ALERT_FIRED, EntryKind.ALERT_RESOLVED, EntryKind.ALERT_GONE)


def natural_key(text: str) -> list[Any]:
    """ "10.0.2.9" sorts before "10.0.2.11"; digits and text alternate, so keys compare."""
    return [int(part) if part.isdigit() else part for part in _DIGIT_RUNS.split(text)]


def in_display_order(entries: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """By time; rows of one per-alert kind at the same moment by the natural order of
    their subject, so the same incident always lists them alike, however stored."""
    ordered: list[TimelineEntry] = []
    by_time = sorted(entries, key=lambda e: e.at)
    for (_, kind), run in groupby(by_time, key=lambda e: (e.at, e.kind)):
        same = list(run)
        ordered += (
            sorted(same, key=lambda e: natural_key(e.subject)) if kind in _PER_ALERT else same
        )
    return ordered
