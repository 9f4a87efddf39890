"""The periodic pass over open incidents: acknowledgements from silences, resolves that
never arrived, and stale marking when Alertmanager cannot be asked."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from receiver.alertmanager.client import AlertmanagerClient, AlertmanagerUnreachable
from receiver.alertmanager.presence import AnswerWindow
from receiver.domain.incident import Incident
from receiver.domain.lifecycle import goes_stale
from receiver.metrics import Metrics
from receiver.store import StoreUnavailable
from receiver.usecases.reconcile import AlertmanagerView
from receiver.usecases.service import IncidentService

log = structlog.get_logger(__name__)

# open incidents read at a time: a pass over a storm's thousands holds a page, not all
PAGE = 500


class Reconciler:
    def __init__(
        self,
        service: IncidentService,
        client: AlertmanagerClient,
        metrics: Metrics,
        *,
        alertmanager_url: str | None,
        restart_grace: timedelta,
        inbox_retention: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.inbox_retention = inbox_retention
        self.restart_grace = restart_grace
        self.service = service
        self.client = client
        self.metrics = metrics
        self.alertmanager_url = alertmanager_url
        self.clock = clock
        self.uptimeless = AnswerWindow(restart_grace)  # Alertmanagers that say no uptime

    def _url_of(self, incident: Incident) -> str:
        return self.alertmanager_url or incident.external_url

    async def run_once(self) -> None:
        if self.inbox_retention.total_seconds() > 0:
            pruned = await self.service.queries.prune_inbox(self.clock() - self.inbox_retention)
            if pruned:
                log.info("inbox.pruned", rows=pruned)
        retried = await self.service.drafts.retry_exports()
        if retried:
            log.info("draft.exports_retried", written=retried)
        views: dict[str, AlertmanagerView | None] = {}  # each Alertmanager asked once
        after_id = 0
        while incidents := await self.service.reconcile.open_incidents(after_id, PAGE):
            after_id = incidents[-1].id or after_id
            by_url: dict[str, list[Incident]] = defaultdict(list)
            for incident in incidents:
                by_url[self._url_of(incident)].append(incident)
            for url, group in by_url.items():
                if url not in views:
                    views[url] = await self._ask(url) if url else None
                await self._reconcile(group, views[url])

    async def _reconcile(self, group: list[Incident], view: AlertmanagerView | None) -> None:
        now = self.clock()
        stale_after = self.service.reconcile.stale_after
        for incident in group:
            assert incident.id is not None
            if view is not None:
                await self.service.reconcile.apply_alertmanager_view(incident.id, view)
            elif goes_stale(incident, now, stale_after):
                # only these: a write for each open incident was a transaction each,
                # every pass, for the thousands a storm leaves open
                await self.service.reconcile.mark_stale_if_silent(incident.id)

    async def _ask(self, url: str) -> AlertmanagerView | None:
        asked_at = self.clock()
        try:
            silences = await self.client.silences(url)
            present = await self.client.present_fingerprints(url)
            started = await self.client.started_at(url)
        except AlertmanagerUnreachable as exc:
            self.metrics.reconcile_runs.labels(result="unreachable").inc()
            log.warning("reconcile.alertmanager_unreachable", url=url, error=str(exc))
            self.uptimeless.failed(url)
            return None
        self.metrics.reconcile_runs.labels(result="ok").inc()
        if started is None:  # Grafana's: judged over the answers of the grace
            window = self.uptimeless.answered(url, asked_at, present)
            if window is None:
                return AlertmanagerView(silences, None, asked_at)
            return AlertmanagerView(silences, window.fingerprints, window.since)
        # a freshly restarted Alertmanager has not heard every firing alert again yet
        trusted = asked_at - started >= self.restart_grace
        return AlertmanagerView(silences, present if trusted else None, asked_at)

    async def run_forever(self, interval: timedelta) -> None:
        while True:
            try:
                await self.run_once()
            except StoreUnavailable as exc:
                self.metrics.store_errors.labels(where="reconcile").inc()
                log.warning("reconcile.store_unavailable", error=str(exc))
            await asyncio.sleep(interval.total_seconds())
