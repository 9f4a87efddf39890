"""What a use case answers when it cannot do what was asked."""

from __future__ import annotations


class IncidentNotFound(LookupError):
    pass


class DraftNotReady(IncidentNotFound):
    """The incident exists but has no draft yet: its alerts are still firing."""


class NoOpenIncident(IncidentNotFound):
    """An event names a service with no open (or recent) incident."""


class InboxFull(Exception):
    """The backlog of accepted, not yet applied input is at its bound: come back later."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EvidenceNotReady(Exception):
    """Evidence was asked for an incident that has not recovered yet."""


class NotPromotable(Exception):
    """Only an incident the postmortem policy judged (its service has SLOs) can be
    marked as requiring a postmortem."""
