"""What Alertmanager says now about open incidents: silences acknowledge them, alerts it
no longer holds resolve, and silence for too long makes them stale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from receiver.alertmanager.silences import Silence
from receiver.domain.acknowledgements import acknowledge_from_silences
from receiver.domain.incident import Change, Incident
from receiver.domain.lifecycle import reconcile, stale_if_silent
from receiver.store import Repository
from receiver.usecases.recording import IngestResult, Recorder
from receiver.usecases.unit_of_work import UnitOfWork, load


@dataclass(frozen=True, slots=True)
class AlertmanagerView:
    """What one Alertmanager said at `asked_at`: its silences, and the fingerprints of the
    alerts it holds (None while it is too freshly started to know them all)."""

    silences: list[Silence]
    present: set[str] | None
    asked_at: datetime


class Reconcile:
    def __init__(self, uow: UnitOfWork, recorder: Recorder, stale_after: timedelta) -> None:
        self.uow = uow
        self.recorder = recorder
        self.stale_after = stale_after

    async def open_incidents(self, after_id: int, limit: int) -> list[Incident]:
        """Up to `limit` open incidents past `after_id`, in id order: a pass reads them a
        page at a time (a storm leaves thousands open)."""
        async with self.uow.db.read() as repo:
            return await repo.open_incidents(after_id, limit)

    async def apply_alertmanager_view(
        self, incident_id: int, view: AlertmanagerView
    ) -> IngestResult:
        """Acknowledge from matching silences; when Alertmanager's list of alerts can be
        trusted, resolve the incident's alerts that are gone from it."""

        async def step(repo: Repository, now: datetime) -> Change:
            change = Change(state=await load(repo, incident_id))
            acknowledge_from_silences(change, view.silences)
            if view.present is not None:
                reconcile(change, view.present, view.asked_at, now)
            return change

        return await self.recorder.record("reconcile", step)

    async def mark_stale_if_silent(self, incident_id: int) -> IngestResult:
        """Alertmanager cannot be asked: an incident unheard of for too long becomes stale."""

        async def step(repo: Repository, now: datetime) -> Change:
            change = Change(state=await load(repo, incident_id))
            return stale_if_silent(change, now, self.stale_after)

        return await self.recorder.record("stale", step)
