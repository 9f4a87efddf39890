"""When an incident ended, and how that is known: Alertmanager's endsAt, reconciliation
(only an upper bound: a silenced alert resolves without a notification), or a person's
earlier report of recovery. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from receiver.domain.incident import EntryKind, Incident, Source, TimelineEntry

# What people report when the service is back: an end time to trust over reconciliation's
REPORTED_END_KINDS = (EntryKind.RESOLVE, EntryKind.VERIFY, EntryKind.MONITOR_OK)
_PEOPLE = (Source.MANUAL, Source.UI)


@dataclass(frozen=True, slots=True)
class EndSource:
    """Where an end time comes from, so a draft or page can say so."""

    # "ends_at": Alertmanager's endsAt; "reconcile": when reconciliation found the alerts
    # gone (an upper bound); "reported": a person's resolve/verify/monitor-ok before that;
    # "manual": an incident without alerts, ended by a person; "": not ended
    kind: str = ""
    actor: str = ""  # who reported the end ("reported")
    report: str = ""  # the entry kind they reported ("reported")
    silences: tuple[tuple[str, str], ...] = ()  # (silence id, who set it): why no resolve came

    @property
    def estimated(self) -> bool:
        """Durations from this end are estimates: it is not an Alertmanager endsAt."""
        return self.kind in ("reconcile", "reported")


def known_end(
    incident: Incident, entries: Sequence[TimelineEntry], has_alerts: bool
) -> tuple[datetime | None, EndSource]:
    """The end to state, and where it comes from. Reconciliation only knows the alerts
    were gone by the time it asked: a person's earlier report of recovery is better."""
    end = incident.ended_at
    if end is None:
        return None, EndSource()
    if not has_alerts:
        return end, EndSource("manual")
    recovered = [e for e in entries if e.kind is EntryKind.ALL_RESOLVED]
    if not recovered or max(recovered, key=lambda e: e.at).source is not Source.RECONCILE:
        return end, EndSource("ends_at")
    silences = tuple(
        dict.fromkeys(
            (e.subject, e.actor or "")
            for e in sorted(entries, key=lambda e: e.at)
            if e.kind is EntryKind.ACK and e.source is Source.SILENCE
        )
    )
    reported = min(
        (
            e
            for e in entries
            if e.kind in REPORTED_END_KINDS
            and e.source in _PEOPLE
            and incident.started_at <= e.at <= end
        ),
        key=lambda e: e.at,
        default=None,
    )
    if reported is not None:
        return reported.at, EndSource(
            "reported", reported.actor or "", reported.kind.value, silences
        )
    return end, EndSource("reconcile", silences=silences)
