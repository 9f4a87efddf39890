"""Accepting input into the inbox, and applying the inbox behind the answers (issue 18).

The accept path stores the raw body and answers; the applier reads the inbox in id order
and applies each entry through the same use cases a direct call runs, at the entry's
receipt time, in batches: each batch is one transaction holding the entries' effects and
their applied marks, so a crash replays exactly what was not applied.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError

from receiver.alertmanager.grafana import GrafanaWebhook
from receiver.alertmanager.webhook import Webhook
from receiver.domain.incident import Change
from receiver.domain.lifecycle import incident_key
from receiver.metrics import Metrics
from receiver.store import InboxRecord, Repository
from receiver.store.inbox import AppliedMark, PendingEntry
from receiver.usecases.batch_drafts import BatchDraft, DraftsLater
from receiver.usecases.batch_reads import BatchReads
from receiver.usecases.errors import InboxFull, IncidentNotFound, NoOpenIncident
from receiver.usecases.ingest import IngestWebhook
from receiver.usecases.record_change import RecordChange, source_of_kind
from receiver.usecases.record_event import ManualEvent, RecordEvent
from receiver.usecases.recording import Recorder, Step, Stored
from receiver.usecases.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

# on SQLite a batch takes no more entries after this long: the accept path's appends,
# queued behind its transaction (one writer), wait for no more than about this. On
# PostgreSQL appends never wait for it, and longer batches mean fewer transactions.
BATCH_SECONDS = {True: 0.02, False: 0.25}
# once a webhook has arrived since the batch began, it takes no more entries after this
# long, on either database: applying runs on the event loop, and requests that arrive
# meanwhile (a storm's next wave, all at once) got only a turn of it between two entries,
# so each waited out the rest of the batch (up to 250 ms on PostgreSQL)
BUSY_BATCH_SECONDS = 0.005
Wakeup = Callable[[], None]
# a batch reads ahead what placing its first webhooks needs, up to this many alerts
READ_AHEAD_ALERTS = 500
Parsed = Webhook | ValidationError | ValueError | None
# within a batch, the event loop gets a turn (requests are read and validated) this often:
# an entry takes a fraction of a millisecond, a turn of the loop a good part of one entry
YIELD_EVERY = 0.002
# a batch reads at least this many entries
MIN_TAKE = 4
# and, beyond that, about this many bytes of bodies: moving and reading a storm's 64
# hundred-alert bodies (5 MB) held the event loop for 13 ms before the first was applied
TAKE_BYTES = 1 << 20
# SQLite: the spool forgets what was moved from it once the applier has caught up, or
# every so many entries while it drains a backlog
FORGET_EVERY = 1024
# how stale the accept path's view of the backlog may be. Between two reads it counts
# what this process appended and applied; a read catches up with other replicas' (and
# scans the backlog, which is why it is rare): every BACKLOG_REFRESH while the count is
# past half a bound, else every BACKLOG_REFRESH_FAR
BACKLOG_REFRESH = 5.0
BACKLOG_REFRESH_FAR = 60.0
# what a refused webhook is told: the applier drains thousands a second when it runs
FULL_RETRY_AFTER = 5.0
# PostgreSQL: the applier's lease, renewed by every batch (at least every poll, 0.25 s):
# when its holder dies another replica takes over within this
LEASE_SECONDS = 3.0


def parse_webhook(record: InboxRecord) -> Webhook | None:
    """The webhook a stored body holds (None for an event or a change to a service), or
    a ValidationError/ValueError."""
    if record.kind == "alertmanager":
        return _webhook_of(record.body)
    if record.kind == "grafana":
        return GrafanaWebhook.parse(json.loads(record.body)).as_webhook()
    return None


def parse_entry(record: InboxRecord, ingest: IngestWebhook, record_event: RecordEvent) -> Step:
    """The use case's step for a stored body, or a ValidationError/ValueError."""
    hook = parse_webhook(record)
    if hook is not None:
        return ingest.step(hook)
    if record.kind == "event":
        event = ManualEvent.model_validate(json.loads(record.body))
        return record_event.step(event, record.body)
    raise ValueError(f"unknown inbox record kind {record.kind!r}")


def _webhook_of(body: str) -> Webhook:
    """pydantic reads the JSON itself, without Python dicts in between (a third of the
    parse); what its reader refuses (a lone surrogate, which json reads) or anything else
    amiss takes json's way, which gives the same webhook or the same error as ever."""
    try:
        return Webhook.model_validate_json(body)
    except ValidationError:
        return Webhook.parse(json.loads(body))


class Accept:
    """The accept path: append the raw input; its effects come behind. Past a bound on
    the backlog it refuses (InboxFull), so that the inbox never grows without limit."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        max_entries: int,
        max_bytes: int,
        appended: Wakeup | None = None,
    ) -> None:
        self.uow = uow
        self.appended = appended  # the applier's wake-up
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        # the store's backlog as last read, plus what this process appended since, less
        # what it applied: one read per BACKLOG_REFRESH, not one per webhook
        self._read_at = -BACKLOG_REFRESH
        # one read at a time: the requests that arrive while it runs take its figures
        # instead of each starting a scan of their own
        self._reading = asyncio.Lock()
        self._entries = 0
        self._bytes = 0
        self.last_at = -1.0  # monotonic time of the last append: the applier yields to it
        # and of the last webhook's arrival, before its body is read and checked: a batch
        # of the applier ends at it
        self.arrived_at = -1.0
        self.previous_at = -1.0  # and of the one before: a stream when they are close
        self.events = 0  # manual events appended: people wait for them (no gathering)

    async def __call__(self, kind: str, body: str, credential: str | None) -> int:
        size = len(body.encode())
        await self._check_room(size)

        self.previous_at, self.last_at = self.last_at, time.monotonic()
        self.arrived_at = self.last_at
        entry_id = await self.uow.db.append_inbox(kind, body, self.uow.clock(), credential)
        self._entries += 1
        self._bytes += size
        if kind == "event":
            self.events += 1
        if self.appended is not None:
            self.appended()
        return entry_id

    @property
    def mean_entry_bytes(self) -> int:
        """The mean size of a body waiting to be applied, as this process counts them."""
        return self._bytes // self._entries if self._entries else 0

    def arriving(self) -> None:
        """A webhook's request has begun: the applier makes way for it."""
        self.arrived_at = time.monotonic()

    def _refresh_due(self) -> bool:
        near = 2 * self._entries >= self.max_entries or 2 * self._bytes >= self.max_bytes
        return time.monotonic() - self._read_at > (BACKLOG_REFRESH if near else BACKLOG_REFRESH_FAR)

    def streaming(self, gap: float) -> bool:
        """Webhooks are arriving in a stream: the last two came within `gap` of each
        other, and the last within `gap` of now."""
        now = time.monotonic()
        return now - self.last_at < gap and self.last_at - self.previous_at < gap

    @property
    def waiting(self) -> int:
        """Entries not yet applied, as this process counts them."""
        return self._entries

    def applied(self, entries: int, size: int) -> None:
        """Entries left the backlog (applied, refused or quarantined)."""
        self._entries = max(0, self._entries - entries)
        self._bytes = max(0, self._bytes - size)

    async def _check_room(self, size: int) -> None:
        if self._refresh_due():
            async with self._reading:
                if self._refresh_due():  # else another request read it meanwhile
                    backlog = await self.uow.db.inbox_backlog()
                    self._read_at = time.monotonic()
                    self._entries, self._bytes = backlog.entries, backlog.bytes
        if self._entries + 1 > self.max_entries:
            what = f"{self._entries} entries (RECEIVER_INBOX_MAX_BACKLOG={self.max_entries})"
        elif self._bytes + size > self.max_bytes:
            what = f"{self._bytes} bytes (RECEIVER_INBOX_MAX_BACKLOG_BYTES={self.max_bytes})"
        else:
            return
        raise InboxFull(
            f"the receiver is behind: {what} wait to be applied; retry later",
            FULL_RETRY_AFTER,
        )


@dataclass(slots=True)
class BatchReport:
    applied: int = 0  # applied or refused: done
    done_bytes: int = 0  # the size of the entries that left the backlog
    quarantined: list[int] = field(default_factory=list)
    failed: int | None = None  # the failed entry's attempts so far; the batch stopped there
    full: bool = False  # the batch took all it could: more may be waiting
    turn: bool = True  # False: another replica is applying


@dataclass(slots=True)
class _Batch:
    report: BatchReport
    stored: list[tuple[str, Stored]] = field(default_factory=list)  # (what, its change)
    # the applied entries' marks, stored together at the end of the batch's transaction
    marks: list[AppliedMark] = field(default_factory=list)
    careful: bool = True  # each entry in its own savepoint
    # the drafts written once per incident at the batch's end; not when careful, where an
    # entry that raises must take only its own effects down
    later: DraftsLater | None = None
    waiting_marks: list[int] = field(default_factory=list)  # marks whose draft waits
    # what placing its first webhooks reads, read once for them all
    reads: BatchReads | None = None
    drafts: list[BatchDraft] = field(default_factory=list)  # written at the end
    moved: int | None = None  # SQLite: the largest id moved in from the spool


def _rows_added(change: Change) -> int:
    """The rows a change added to incidents, episodes and timeline."""
    return int(change.created) + len(change.new_episodes) + len(change.new_entries)


class _MakingWay:
    """A batch's turns of the event loop, and whether a webhook arrived since it began.

    Applying runs on the loop: requests are read and checked only in the turns it gives.
    A turn every YIELD_EVERY, and once a webhook has arrived the batch ends soon (after
    BUSY_BATCH_SECONDS), to be taken up again once the webhooks stop coming."""

    def __init__(self, accept: Accept | None) -> None:
        self.accept = accept
        self.arrived = accept.arrived_at if accept is not None else -1.0
        self.started = self.last_turn = time.perf_counter()

    async def turn(self) -> None:
        # the first turn reads what arrived; the second runs the handlers it started
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        self.last_turn = time.perf_counter()

    async def turn_when_due(self) -> None:
        if time.perf_counter() - self.last_turn > YIELD_EVERY:
            await self.turn()

    def webhook_waits(self) -> bool:
        return (
            self.accept is not None
            and self.accept.arrived_at != self.arrived
            and time.perf_counter() - self.started > BUSY_BATCH_SECONDS
        )


class _EntryRaised(Exception):
    """An entry raised in a batch run without savepoints: it runs again with them."""


class ApplyInbox:
    def __init__(
        self,
        uow: UnitOfWork,
        recorder: Recorder,
        ingest: IngestWebhook,
        record_event: RecordEvent,
        metrics: Metrics,
        *,
        max_attempts: int,
        record_change: RecordChange,
        accept: Accept | None = None,
    ) -> None:
        # on PostgreSQL the replica that holds the applier's lease; this process's name
        self.me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.uow = uow
        self.recorder = recorder
        self.ingest = ingest
        self.record_event = record_event
        self.metrics = metrics
        self.max_attempts = max_attempts  # failed applications before quarantine
        # the accept path: told (entries, bytes) after each batch, for its count of the
        # backlog; a batch ends sooner once a webhook has arrived meanwhile
        self.accept = accept
        self.record_change = record_change  # changes to services (issue 20)
        # how many entries a batch reads: about twice what the last one applied within its
        # time bound, so that a backlog of large webhooks (a storm's hundred alerts each,
        # a few per batch) is not read 64 bodies at a time
        self._take: int | None = None
        # the webhooks of the entries the last batch read, parsed (or why not): a batch
        # that ends early leaves the rest parsed for the next one
        self._parsed: dict[int, Parsed] = {}
        # SQLite: the largest id committed batches moved from the spool, and forgotten
        self._moved = 0
        self._forgotten = 0

    async def batch(self, limit: int) -> BatchReport:
        """Apply up to `limit` pending entries in id order in one transaction.

        First without a savepoint per entry (two statements each, two round trips on
        PostgreSQL); when an entry raises, that transaction is rolled back whole and the
        batch runs again with one, so that the failing entry alone is rolled back."""

        def job(careful: bool) -> Callable[[Repository, datetime], Awaitable[_Batch]]:
            async def apply(repo: Repository, now: datetime) -> _Batch:
                batch = _Batch(BatchReport(), careful=careful)
                batch.later = None if careful else DraftsLater()
                postgres = not self.uow.db.is_sqlite
                if not await repo.inbox.take_applier_turn(
                    self.me, LEASE_SECONDS, postgres=postgres
                ):
                    batch.report.turn = False
                    return batch
                if not careful:
                    # on PostgreSQL the entries' writes go out together (held_writes.py);
                    # a careful run writes each at once, in its entry's savepoint
                    repo.hold_writes()
                await self._apply_pending(repo, limit, now, batch)
                await self._write_waiting(repo, batch)
                await repo.inbox.mark_applied(batch.marks, now)
                if not careful:  # what they raise is an entry's: the batch runs carefully
                    await _optimistically(repo.flush_writes())
                return batch

            return apply

        try:
            batch = await self.uow.write("inbox.apply", job(careful=False))
        except _EntryRaised:
            batch = await self.uow.write("inbox.apply", job(careful=True))
        await self._forget_moved(batch)
        for what, stored in batch.stored:
            await self.recorder.finish(what, stored)
        await self.recorder.finish_waiting(batch.drafts)
        # after the batch's files and messages: an ANALYZE, when due, need not delay them
        await self.uow.db.added_rows(sum(_rows_added(stored.change) for _, stored in batch.stored))
        report = batch.report
        if report.quarantined:
            self.metrics.inbox_quarantined.inc(len(report.quarantined))
        if self.accept is not None:
            self.accept.applied(report.applied + len(report.quarantined), report.done_bytes)
        return report

    async def _forget_moved(self, batch: _Batch) -> None:
        """The spool's entries that committed batches moved, deleted there: once caught
        up, or every FORGET_EVERY entries (each deletion is a transaction of the spool's)."""
        if batch.moved is not None:
            self._moved = batch.moved
        behind = self._moved - self._forgotten
        if behind > 0 and (not batch.report.full or behind >= FORGET_EVERY):
            await self.uow.db.forget_spooled(self._moved)
            self._forgotten = self._moved

    async def _apply_pending(
        self, repo: Repository, limit: int, now: datetime, batch: _Batch
    ) -> None:
        way = _MakingWay(self.accept)
        take = min(limit, self._take or limit, self._take_within_bytes())
        batch.moved = await self.uow.db.move_spooled(repo, take)
        entries = await repo.inbox.pending(take)
        self._parsed = {
            e.record.id: self._parsed[e.record.id] for e in entries if e.record.id in self._parsed
        }
        await way.turn()
        await self._read_ahead(repo, entries, batch, way)
        started, bound = time.perf_counter(), BATCH_SECONDS[self.uow.db.is_sqlite]
        for number, entry in enumerate(entries, 1):
            if not await self._apply(repo, entry, now, batch):
                return
            applied = time.perf_counter()
            await way.turn_when_due()
            if applied - started > bound:
                batch.report.full = True
                self._take = max(MIN_TAKE, 2 * number)
                return
            if way.webhook_waits():  # the entries' cost did not end it: same take next
                batch.report.full = number < len(entries) or len(entries) == take
                return
        batch.report.full = len(entries) == take
        if batch.report.full:
            self._take = min(limit, 2 * take)

    def _take_within_bytes(self) -> int:
        """How many entries of the backlog's mean size make TAKE_BYTES (MIN_TAKE at least)."""
        mean = self.accept.mean_entry_bytes if self.accept is not None else 0
        return max(MIN_TAKE, TAKE_BYTES // mean) if mean else TAKE_BYTES

    async def _read_ahead(
        self, repo: Repository, entries: list[PendingEntry], batch: _Batch, way: _MakingWay
    ) -> None:
        """What placing the batch's first webhooks needs (up to READ_AHEAD_ALERTS
        alerts: a storm's large entries, a few per batch, gain little), in one query for
        all of them (per kind of read) rather than two per webhook. Less once a webhook
        arrives: it waits for this, and the entries read for will be read again."""
        hooks: list[Webhook] = []
        alerts = 0
        for entry in entries:
            hook = self._parse(entry.record)
            if isinstance(hook, Webhook):
                alerts += len(hook.alerts)
                if alerts > READ_AHEAD_ALERTS:
                    break
                hooks.append(hook)
            await way.turn_when_due()
            if way.webhook_waits():
                break
        if len(hooks) < 2:
            return  # one webhook reads as much on its own
        batch.reads = BatchReads(sole_writer=self.uow.db.is_sqlite)
        key_labels = self.ingest.rules.key_labels
        keys = [incident_key(hook, key_labels) for hook in hooks]
        await batch.reads.read(
            repo, (alert.fingerprint for hook in hooks for alert in hook.alerts), keys
        )
        if not self.uow.db.is_sqlite and (opening := batch.reads.keys_to_open(keys)):
            # opening an incident is then a write held with the rest, not a round trip
            await repo.reserve_incident_ids(opening)

    def _parse(self, record: InboxRecord) -> Parsed:
        """The entry's webhook (None for an event or a change), or why it is none; once
        per entry, whichever batch applies it."""
        try:
            return self._parsed[record.id]
        except KeyError:
            pass
        parsed: Parsed
        try:
            parsed = parse_webhook(record)
        except (ValidationError, ValueError) as exc:  # raised when the entry applies
            parsed = exc
        self._parsed[record.id] = parsed
        return parsed

    async def _apply(
        self, repo: Repository, entry: PendingEntry, now: datetime, batch: _Batch
    ) -> bool:
        """One entry (in its own savepoint when careful); False when it failed and the batch
        stops."""
        record = entry.record
        try:
            mark, stored, redrafted = await self._effects(repo, record, batch)
        except _EntryRaised:
            raise
        except NoOpenIncident as exc:
            await repo.inbox.mark_refused(record.id, "no_open_incident", str(exc), now)
        except IncidentNotFound as exc:
            await repo.inbox.mark_refused(record.id, "not_found", str(exc), now)
        except DBAPIError as exc:
            if not isinstance(exc, IntegrityError):
                raise  # the store failed, not the entry: the whole batch is retried
            return await self._failed(repo, entry, exc, now, batch)
        except (OSError, TimeoutError):
            raise  # the connection, not the entry
        except (ValidationError, ValueError, LookupError, ArithmeticError, TypeError) as exc:
            return await self._failed(repo, entry, exc, now, batch)
        except Exception as exc:  # whatever else an entry's application raises
            log.exception("inbox.apply_error", inbox_id=record.id)
            return await self._failed(repo, entry, exc, now, batch)
        else:
            if stored is not None and stored.draft_waits:
                batch.waiting_marks.append(len(batch.marks))
            batch.marks.append(mark)
            if stored is not None:  # an incident's change: finished after the commit
                batch.stored.append(("event" if record.kind == "event" else "webhook", stored))
            # and the drafts a change to a service re-rendered: exported after it too
            batch.stored.extend(("change", written) for written in redrafted)
        batch.report.applied += 1
        batch.report.done_bytes += len(record.body.encode())
        return True

    async def _effects(
        self, repo: Repository, record: InboxRecord, batch: _Batch
    ) -> tuple[AppliedMark, Stored | None, list[Stored]]:
        """The entry's effects: its mark, its incident's change (None for a change to a
        service) and the drafts a change to a service re-rendered."""
        if batch.careful:
            async with repo.inbox.savepoint():
                return await self._apply_entry(repo, record, batch)
        return await _optimistically(self._apply_entry(repo, record, batch))

    async def _apply_entry(
        self, repo: Repository, record: InboxRecord, batch: _Batch
    ) -> tuple[AppliedMark, Stored | None, list[Stored]]:
        at = record.received_at  # applied as of its receipt, whenever that is
        redrafted: list[Stored] = []  # drafts a change re-rendered
        if source_of_kind(record.kind) is not None:
            # a change to a service belongs to no incident: stored on its own, after the
            # drafts waiting so far, which it may revise
            await self._write_waiting(repo, batch)
            outcome = await self.record_change.apply_entry(repo, record, at, redrafted)
            if batch.reads is not None:
                batch.reads.wrote_anything()
            return AppliedMark(record.id, None, outcome, None), None, redrafted
        hook = self._parse(record)
        if isinstance(hook, ValidationError | ValueError):
            raise hook
        if hook is None:
            step = parse_entry(record, self.ingest, self.record_event)
        else:
            step = self.ingest.step(hook, batch.reads)
        change = await step(repo, at)
        stored = await self.recorder.store(repo, change, at, later=batch.later)
        if batch.reads is not None:
            batch.reads.wrote(change)
        revision = stored.draft.revision if stored.draft else None
        mark = AppliedMark(record.id, stored.incident_id, _outcome(stored), revision)
        return mark, stored, redrafted

    async def _write_waiting(self, repo: Repository, batch: _Batch) -> None:
        """The drafts the batch's entries wait for, once per incident; their entries'
        marks get the revision."""
        if not batch.later:
            return
        written = await _optimistically(self.recorder.write_waiting(repo, batch.later))
        batch.drafts.extend(written)
        revisions = {w.incident_id: w.draft.revision for w in written if w.draft is not None}
        for index in batch.waiting_marks:
            mark = batch.marks[index]
            if mark.incident_id in revisions:
                batch.marks[index] = replace(mark, draft_revision=revisions[mark.incident_id])
        batch.waiting_marks.clear()

    async def _failed(
        self,
        repo: Repository,
        entry: PendingEntry,
        exc: BaseException,
        now: datetime,
        batch: _Batch,
    ) -> bool:
        attempts = entry.attempts + 1
        # the first line: a driver's error goes on with the statement and its parameters
        first_line = (str(exc).strip().splitlines() or [""])[0]
        error = f"{type(exc).__name__}: {first_line}"[:2000]
        await repo.inbox.count_failure(entry.record.id, attempts, error)
        if attempts >= self.max_attempts:
            # the entries behind it go on; `inbox retry` puts it back in line
            await repo.inbox.quarantine(entry.record.id, now)
            batch.report.quarantined.append(entry.record.id)
            batch.report.done_bytes += len(entry.record.body.encode())
            log.error("inbox.quarantined", inbox_id=entry.record.id, attempts=attempts, error=error)
            return True
        log.warning("inbox.apply_failed", inbox_id=entry.record.id, attempts=attempts, error=error)
        batch.report.failed = attempts
        return False


def _outcome(stored: Stored) -> str:
    if stored.change.created:
        return "created"
    return "changed" if stored.change.touched else "unchanged"


_T = TypeVar("_T")


async def _optimistically(work: Coroutine[Any, Any, _T]) -> _T:
    """Work in a batch run without savepoints: what the entries raise becomes _EntryRaised
    (the batch runs again, carefully); what the store or the connection raises stays."""
    try:
        return await work
    except DBAPIError as exc:
        if not isinstance(exc, IntegrityError):
            raise  # the store failed, not the entry: the whole batch is retried
        raise _EntryRaised from exc  # and PostgreSQL's transaction is aborted
    except (OSError, TimeoutError):
        raise  # the connection, not the entry
    except Exception as exc:  # an entry's: its partial writes go with the transaction
        raise _EntryRaised from exc
