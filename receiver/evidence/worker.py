"""The background pass that fetches evidence for recovered incidents, and retries it."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import structlog

from receiver.service import EvidenceNotReady, IncidentNotFound, IncidentService
from receiver.store import StoreUnavailable

log = structlog.get_logger(__name__)


class EvidenceWorker:
    def __init__(self, service: IncidentService, session: aiohttp.ClientSession) -> None:
        self.service = service
        self.session = session
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self, poll_interval: float) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except StoreUnavailable as exc:
                log.warning("evidence.store_unavailable", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll_interval)

    async def run_once(self) -> int:
        """Fetch what is due (new, or missing something and due for a retry)."""
        done = 0
        for incident_id in await self.service.evidence_due():
            if not await self.service.claim_evidence(incident_id):
                continue  # another replica is on it
            try:
                await self.service.gather_evidence(incident_id, self.session)
            except (IncidentNotFound, EvidenceNotReady) as exc:
                log.info("evidence.skipped", incident_id=incident_id, reason=str(exc))
            else:
                done += 1
        return done

    async def refresh(self, incident_id: int) -> None:
        """On demand (review page, API): fetch again and write a new revision."""
        await self.service.gather_evidence(incident_id, self.session, force=True)
