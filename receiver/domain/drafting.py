"""When a change needs a draft, and which revision it writes. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from receiver.domain.incident import Change, Incident, IncidentStatus

# who a revision is by when fresh evidence from Prometheus wrote it
EVIDENCE_AUTHOR = "Prometheus"
# who a revision is by when a change to a service, arriving after the draft, wrote it
CHANGES_AUTHOR = "变更记录"


@dataclass(frozen=True, slots=True)
class Revision:
    number: int
    created_at: datetime
    created_by: str | None


class RevisionCause(StrEnum):
    """Why a revision was written; what the store keeps (its number and author) tells."""

    RECOVERY = "recovery"  # the first draft, when the alerts recovered
    REFIRE = "refire"  # the alerts fired again and recovered again
    EVIDENCE = "evidence"  # fresh evidence from Prometheus
    CHANGE = "change"  # a change to a related service arrived after the draft
    SAVE = "save"  # a person saved fields


def revision_cause(number: int, created_by: str | None) -> RevisionCause:
    """Only four things write a new revision (`new_revision_wanted`): a recovery, which
    has no author and is the first revision unless the incident was reopened by a re-fire
    since; fresh evidence, by EVIDENCE_AUTHOR; a change arriving late, by CHANGES_AUTHOR;
    and a person's save, by that person."""
    if created_by is None:
        return RevisionCause.RECOVERY if number == 1 else RevisionCause.REFIRE
    if created_by == CHANGES_AUTHOR:
        return RevisionCause.CHANGE
    return RevisionCause.EVIDENCE if created_by == EVIDENCE_AUTHOR else RevisionCause.SAVE


def new_revision_wanted(change: Change) -> bool:
    """On recovery, and when a person (or fresh evidence) changed what the draft says."""
    return change.recovered or change.revision_by is not None


def draft_wanted(change: Change) -> bool:
    """Whether the change (re)writes the draft; never for an incident still firing."""
    incident = change.state.incident
    if incident.is_open:
        return False
    return (
        new_revision_wanted(change)
        or change.refresh_draft
        or (change.touched and incident.status is not IncidentStatus.APPROVED)
    )


def next_revision(latest: Revision | None, change: Change, now: datetime) -> Revision:
    """A new revision, numbered on from the latest; else the latest one, refreshed."""
    if latest is None:
        return Revision(1, now, change.revision_by)
    if new_revision_wanted(change):
        return Revision(latest.number + 1, now, change.revision_by)
    return latest


def evidence_stored(
    change: Change, now: datetime, *, forced: bool, earlier_attempts: int
) -> Change:
    """The first fetch freezes the evidence into the current revision; a later one (after a
    failure, or asked for from the review page) writes a new revision."""
    if forced or earlier_attempts > 0:
        change.revise(EVIDENCE_AUTHOR, now)
    else:
        change.refresh_draft = True
    return change


def mark_drafted(incident: Incident, now: datetime) -> None:
    """A draft revision was written for a recovered incident."""
    if incident.status is IncidentStatus.RECOVERED:
        incident.status = IncidentStatus.DRAFTED
        incident.updated_at = now
