"""Recording a change to a service (a deploy, config change, rollback or scaling), as a
change feed or a person told us: stored once per its source's own id.

Feeds go through the inbox like webhooks: the accept path stores the body under the
kind `inbox_kind(source)`, and the applier (or a replay) reads it back here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from receiver.changes.common import Ignored
from receiver.changes.read import read_change
from receiver.domain.changes import ChangeSource, ServiceChange
from receiver.store import InboxRecord, Repository
from receiver.usecases.change_drafts import ChangeDrafts
from receiver.usecases.recording import Stored
from receiver.usecases.unit_of_work import UnitOfWork

# the stored change, and whether it was new (False: a replay of one stored already)
Recorded = tuple[ServiceChange, bool]
ChangeStep = Callable[[Repository, datetime], Awaitable[Recorded]]

# the inbox's kind column holds 16 characters: "change:kubernetes" would not fit
_KINDS = {
    source: "change:" + ("k8s" if source is ChangeSource.KUBERNETES else source.value)
    for source in ChangeSource
}
_SOURCES = {kind: source for source, kind in _KINDS.items()}


def inbox_kind(source: ChangeSource) -> str:
    return _KINDS[source]


def source_of_kind(kind: str) -> ChangeSource | None:
    """The feed an inbox entry came from; None for an entry that is not a change."""
    return _SOURCES.get(kind)


class RecordChange:
    def __init__(self, uow: UnitOfWork, drafts: ChangeDrafts | None = None) -> None:
        self.uow = uow
        # re-renders the drafts a new change concerns (None: only store it)
        self.drafts = drafts

    async def __call__(self, change: ServiceChange, *, inbox_id: int | None = None) -> Recorded:
        """Store the change in its own transaction, with the new draft revisions it causes;
        then write those drafts' files."""
        written: list[Stored] = []
        recorded = await self.uow.write(
            "change", self.step(change, inbox_id=inbox_id, written=written)
        )
        if self.drafts is not None:
            await self.drafts.finish(written)
        return recorded

    def step(
        self,
        change: ServiceChange,
        *,
        inbox_id: int | None = None,
        written: list[Stored] | None = None,
    ) -> ChangeStep:
        """The change's part of a transaction (the inbox applier runs it in its batch),
        received at the transaction's time. A new change also re-renders the drafts it
        concerns, into `written` when given (their files are written after the commit;
        else by the periodic export pass)."""

        async def step(repo: Repository, now: datetime) -> Recorded:
            stored, created = await repo.changes.add(change, received_at=now, inbox_id=inbox_id)
            if created and self.drafts is not None:
                redrafted = await self.drafts.redraft(repo, stored, now)
                if written is not None:
                    written.extend(redrafted)
            return stored, created

        return step

    async def apply_entry(
        self,
        repo: Repository,
        record: InboxRecord,
        at: datetime,
        written: list[Stored] | None = None,
    ) -> str:
        """An inbox entry of a change feed, in the applier's transaction, as received at
        `at`: its outcome, "created" or "unchanged"; ValueError when its body does not
        read (the applier counts the failure). The draft revisions it causes go into
        `written`, for the applier to export after its commit."""
        source = source_of_kind(record.kind)
        if source is None:
            raise ValueError(f"inbox entry kind {record.kind!r} is not a change feed")
        change = read_change(source, record.body)
        if isinstance(change, Ignored):  # refused at accept: a body stored by older code
            return "ignored"
        _, created = await self.step(change, inbox_id=record.id, written=written)(repo, at)
        return "created" if created else "unchanged"
