"""One draft per incident per batch of the inbox.

Every notification that changes a recovered incident wants its draft written again, and
a batch may hold several for one incident (a resolve, then a note; a resolve sent in
parts). The batch renders that draft once, after its last entry, from the incident as
that entry left it. The changes whose chat messages depend on the draft (its revision,
its verdict) queue them then, in their order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from receiver.domain.drafting import draft_wanted, mark_drafted, new_revision_wanted
from receiver.domain.incident import Change, IncidentStatus
from receiver.store import StoredDraft


@dataclass(slots=True)
class _Waiting:
    """An incident whose draft the batch writes at its end."""

    latest: Change  # its latest change in the batch: the state the draft shows
    at: datetime  # that change's time: the draft's
    first_wanting: Change | None = None  # the first change that asks for the draft
    new_revision: Change | None = None  # the first change that asks for a new revision
    marked: bool = False  # its status moved to drafted ahead of the draft
    # the changes whose messages wait for the draft, in order, with their time and whether
    # they notify at all
    messages: list[tuple[Change, datetime, bool]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BatchDraft:
    """A draft the batch wrote, or the messages it queued without one."""

    incident_id: int
    draft: StoredDraft | None
    queued: int


class DraftsLater:
    """The incidents of one batch whose drafts wait for its end."""

    def __init__(self) -> None:
        self._waiting: dict[int, _Waiting] = {}

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def holds(self, incident_id: int) -> bool:
        return incident_id in self._waiting

    def wait(self, incident_id: int, change: Change, at: datetime, *, notify: bool) -> None:
        """The change's draft (when it wants one) and its messages wait for the batch's
        end. Its status moves to drafted now, as the draft will be written in this same
        transaction: the batch's later entries see the incident as they would have."""
        waiting = self._waiting.get(incident_id)
        if waiting is None:
            waiting = self._waiting[incident_id] = _Waiting(change, at)
        waiting.latest, waiting.at = change, at
        if draft_wanted(change):
            waiting.first_wanting = waiting.first_wanting or change
            if waiting.new_revision is None and new_revision_wanted(change):
                waiting.new_revision = change
            incident = change.state.incident
            was = incident.status
            mark_drafted(incident, at)
            waiting.marked = waiting.marked or was is not incident.status
        waiting.messages.append((change, at, notify))

    def take(self) -> list[tuple[int, _Waiting]]:
        """The waiting incidents in the order they first waited; none wait after."""
        taken, self._waiting = list(self._waiting.items()), {}
        return taken


def as_drafted(waiting: _Waiting) -> Change:
    """The change the draft is written for: the incident's latest state, asking for a new
    revision when any change of the batch did, by the first such change's author."""
    first = waiting.new_revision
    if first is None:
        return waiting.latest
    return replace(waiting.latest, recovered=first.recovered, revision_by=first.revision_by)


def undo_mark(waiting: _Waiting) -> bool:
    """The draft could not be rendered: its incident stays recovered, visibly. Whether
    its status moved back (and its row must be written again)."""
    if not waiting.marked:
        return False
    incident = waiting.latest.state.incident
    incident.status = IncidentStatus.RECOVERED
    return True


def new_revision_of(waiting: _Waiting, change: Change, draft: StoredDraft | None) -> int | None:
    """The new revision a change's messages announce: the one the batch wrote (not a
    refresh), announced once, by the first change that asked for a new revision (or for
    the draft at all); None for the others."""
    if draft is None or draft.created_at != waiting.at:
        return None
    return draft.revision if change is (waiting.new_revision or waiting.first_wanting) else None
