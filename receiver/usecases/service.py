"""The use cases, wired together once: every collaborator is passed in when the service
is built, never set afterwards."""

from __future__ import annotations

from receiver.config import Settings
from receiver.domain.incident import Rules
from receiver.metrics import Metrics
from receiver.postmortem.options import render_options
from receiver.postmortem.render import DraftRenderer
from receiver.store import Database
from receiver.usecases.action_items import ActionItems
from receiver.usecases.apply_inbox import Accept, ApplyInbox
from receiver.usecases.change_drafts import ChangeDrafts
from receiver.usecases.drafts import Drafts
from receiver.usecases.evidence import Evidence
from receiver.usecases.ingest import IngestWebhook
from receiver.usecases.policy import Policy
from receiver.usecases.quarantine import Quarantine
from receiver.usecases.queries import Queries
from receiver.usecases.reconcile import Reconcile
from receiver.usecases.record_change import RecordChange
from receiver.usecases.record_event import RecordEvent
from receiver.usecases.recording import Recorder, Wakeup
from receiver.usecases.reminders import Reminders
from receiver.usecases.review import Review
from receiver.usecases.unit_of_work import Clock, UnitOfWork, utcnow


def rules_from(settings: Settings) -> Rules:
    return Rules(
        severity_map=settings.severity_map,
        default_priority=settings.default_priority,
        reopen_window=settings.reopen_window,
        key_labels=tuple(settings.incident_key_labels),
    )


class IncidentService:
    """`accept` stores a webhook or event in the inbox, `apply_inbox` applies it behind the
    answer through `ingest_webhook` and `record_event` (also called directly, e.g. by a
    replay); the other use cases are grouped by concern: `review`, `evidence`,
    `reconcile`, `drafts`, `queries`."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        renderer: DraftRenderer,
        *,
        metrics: Metrics | None = None,
        clock: Clock = utcnow,
        defer_export_marks: bool = False,
        messages_queued: Wakeup | None = None,
        evidence_wanted: Wakeup | None = None,
        inbox_appended: Wakeup | None = None,
    ) -> None:
        """`defer_export_marks`: answers need not wait for "draft file written" to be
        stored; only an owner that calls close() before closing the store asks for it.
        `messages_queued` and `evidence_wanted` wake the outbox sender and the evidence
        worker after a commit that gave them work; `inbox_appended` the inbox's applier."""
        self.db = db
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.clock = clock
        rules = rules_from(settings)
        options = render_options(settings, rules)
        uow = UnitOfWork(db, clock)
        self.drafts = Drafts(
            uow, settings, renderer, options, self.metrics, defer_export_marks=defer_export_marks
        )
        recorder = Recorder(
            uow,
            settings,
            self.drafts,
            self.metrics,
            messages_queued=messages_queued,
            evidence_wanted=evidence_wanted,
        )
        self.queries = Queries(db, settings, clock)
        self.ingest_webhook = IngestWebhook(recorder, rules)
        self.record_event = RecordEvent(recorder, rules, settings.event_window)
        self.review = Review(uow, recorder, settings.approval_required)
        self.actions = ActionItems(db, recorder, clock, settings.zone)
        self.reminders = Reminders(uow, settings, messages_queued)
        self.evidence = Evidence(uow, recorder, self.queries, settings)
        self.policy = Policy(recorder)
        self.reconcile = Reconcile(uow, recorder, settings.stale_after)
        # changes to services: stored, and re-rendering the drafts they concern (issue 20)
        self.change_drafts = ChangeDrafts(recorder, settings)
        self.record_change = RecordChange(uow, self.change_drafts)
        self.accept = Accept(
            uow,
            max_entries=settings.inbox_max_backlog,
            max_bytes=settings.inbox_max_backlog_bytes,
            appended=inbox_appended,
        )
        self.quarantine = Quarantine(uow)
        self.apply_inbox = ApplyInbox(
            uow,
            recorder,
            self.ingest_webhook,
            self.record_event,
            self.metrics,
            max_attempts=settings.inbox_max_attempts,
            accept=self.accept,
            record_change=self.record_change,
        )

    async def close(self) -> None:
        """Finish what runs after the answers (marking exported drafts)."""
        await self.drafts.close()
