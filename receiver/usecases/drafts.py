"""Drafts: render and store a revision inside the change's transaction; copy it to the
drafts directory after the commit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import jinja2
import structlog

from receiver.config import Settings
from receiver.domain.drafting import mark_drafted, next_revision
from receiver.domain.incident import Change
from receiver.domain.moments import shifted
from receiver.domain.periods import month_bounds, quarter_bounds
from receiver.drafts import draft_file_name, drop_other_drafts, write_atomically
from receiver.evidence.collect import evidence_wanted
from receiver.evidence.recovery import metric_evidence
from receiver.evidence.view import evidence_view
from receiver.metrics import Metrics
from receiver.postmortem.render import DraftRenderer
from receiver.postmortem.view import DraftInput, RenderOptions
from receiver.store import Database, Repository, StoredDraft
from receiver.usecases.export_marks import ExportMarks
from receiver.usecases.recurrence import similar_of
from receiver.usecases.unit_of_work import UnitOfWork
from receiver.usecases.verdict import judge

log = structlog.get_logger(__name__)


class Drafts:
    def __init__(
        self,
        uow: UnitOfWork,
        settings: Settings,
        renderer: DraftRenderer,
        render_options: RenderOptions,
        metrics: Metrics,
        *,
        defer_export_marks: bool,
    ) -> None:
        self.uow = uow
        self.settings = settings
        self.renderer = renderer
        self.render_options = render_options
        self.metrics = metrics
        self._marks = ExportMarks(uow.db)
        # answers need not wait for "draft file written" to be stored; only an owner that
        # calls close() before closing the store (the app) asks for this
        self.defer_export_marks = defer_export_marks

    @property
    def db(self) -> Database:
        return self.uow.db

    async def write(self, repo: Repository, change: Change, now: datetime) -> StoredDraft | None:
        """Render and store the revision the domain asks for (`draft_wanted`)."""
        incident = change.state.incident
        assert incident.id is not None
        zone = self.settings.zone
        context = await repo.draft_context(
            incident,
            month_bounds(incident.started_at, zone),
            quarter_bounds(incident.started_at, zone),
        )
        latest = context.latest
        revision = next_revision(latest, change, now)
        episodes = list(change.state.episodes.values())  # loaded already, all of them
        alertname = episodes[0].labels.get("alertname", "") if episodes else "manual"
        file_name = draft_file_name(
            incident.id, incident.started_at, zone, incident.service, alertname
        )
        stored = await repo.evidence.of(incident.id) if evidence_wanted(self.settings) else None
        evidence = evidence_view(stored, file_name, zone)  # None when not wanted
        # the changes the ranking may list: from the window before the first alert to the end
        window = self.settings.change_window
        changes = await repo.changes.between(
            shifted(incident.started_at, -window), incident.ended_at or now
        )
        figures = stored.record.slos if stored is not None and stored.record is not None else []
        data = DraftInput(
            incident=incident,
            episodes=episodes,
            timeline=await repo.timeline_of(incident.id),
            history=context.history,
            revision=revision.number,
            created_at=revision.created_at,
            now=now,
            human=context.human,
            evidence=evidence,
            metric_evidence=metric_evidence(stored, episodes),
            changes=changes,
            verdicts=await repo.change_verdicts.of(incident.id) if changes else [],
            similar=(similar := await similar_of(repo, incident)),
            similar_titles=await repo.recurrence.titles([m.past.id for m in similar.linked]),
            slos=figures,
            slo_names=tuple(slo.name for slo in self.settings.slos.get(incident.service, [])),
            verdict=await judge(repo, self.settings, incident, figures, now),
        )
        started = time.perf_counter()
        try:
            markdown = self.renderer.render(data, self.render_options)
        except jinja2.TemplateError as exc:
            self.metrics.drafts_rendered.labels(result="failed").inc()
            # the webhook is stored either way; the incident stays `recovered`, visibly
            log.error("draft.render_failed", error=str(exc), template=self.render_options.language)
            return None
        self.metrics.draft_render_seconds.observe(time.perf_counter() - started)
        self.metrics.drafts_rendered.labels(result="stored").inc()
        draft = StoredDraft(
            incident_id=incident.id,
            revision=revision.number,
            language=self.settings.language,
            file_name=file_name,
            markdown=markdown,
            created_at=revision.created_at,
            updated_at=now,
            created_by=revision.created_by,
            renamed=latest is not None and context.latest_file_name != file_name,
        )
        export = self.settings.drafts_dir is not None
        if latest is not None and latest.number == revision.number:
            await repo.update_draft(draft, export=export)
        else:
            await repo.insert_draft(draft, export=export)
        mark_drafted(incident, now)  # stored with the rest of the incident by the caller
        return draft

    async def export(
        self, drafts: Sequence[StoredDraft], *, wait_for_mark: bool = True
    ) -> list[Path | None]:
        """Copy stored drafts to the drafts directory, the database staying the source;
        each one's file, or None where it could not be written.

        The files are written in one hop to a worker thread and their marks queued
        together, so they share one transaction: a batch of the inbox that wrote tens of
        drafts paid a hop and a commit for each. A failure is logged and counted and the
        draft stays marked for export: the periodic pass (retry_exports) writes it once
        the directory takes files again.
        """
        directory = self.settings.drafts_dir
        if directory is None or not drafts:
            return [None] * len(drafts)
        outcomes = await asyncio.to_thread(_write_files, directory, drafts)
        written: list[Path | None] = []
        marked = []
        for draft, outcome in zip(drafts, outcomes, strict=True):
            if isinstance(outcome, OSError):
                self.metrics.draft_exports.labels(result="failed").inc()
                log.warning(
                    "draft.export_failed",
                    incident_id=draft.incident_id,
                    directory=str(directory),
                    error=str(outcome),
                    revision=draft.revision,
                )
                written.append(None)
                continue
            path, renamed = outcome
            if wait_for_mark:
                marked.append(self._marks.mark(draft))
            else:
                self._marks.mark_soon(draft)
            self.metrics.draft_exports.labels(result="written").inc()
            log.info(
                "draft.written",
                incident_id=draft.incident_id,  # a batch's context names its last entry's
                path=str(path),
                revision=draft.revision,
                replaced=[p.name for p in renamed],
            )
            written.append(path)
        await asyncio.gather(*marked)
        return written

    async def export_after_commit(self, drafts: Sequence[StoredDraft]) -> None:
        # the answer waits for the files, not for the marks that say they were written
        await self.export(drafts, wait_for_mark=not self.defer_export_marks)

    async def retry_exports(self, limit: int = 100) -> int:
        """Write the draft files that are still missing; how many were written."""
        if self.settings.drafts_dir is None:
            return 0
        async with self.db.read() as repo:
            pending = await repo.pending_exports(limit)
        return sum(path is not None for path in await self.export(pending))

    async def close(self) -> None:
        """Finish what runs after the answers (marking exported drafts)."""
        await self._marks.drain()


def _write_files(
    directory: Path, drafts: Sequence[StoredDraft]
) -> list[tuple[Path, list[Path]] | OSError]:
    """Each draft's file, and the incident's files under other names removed (looked for,
    a scan of the directory, only when the draft may have been renamed); or the error
    that stopped it."""
    outcomes: list[tuple[Path, list[Path]] | OSError] = []
    for draft in drafts:
        try:
            path = write_atomically(directory, draft.file_name, draft.markdown)
            removed = (
                drop_other_drafts(directory, draft.incident_id, draft.file_name)
                if draft.renamed
                else []
            )
        except OSError as exc:
            outcomes.append(exc)
        else:
            outcomes.append((path, removed))
    return outcomes
