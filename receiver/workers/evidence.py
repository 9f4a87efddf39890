"""The background pass that fetches evidence for recovered incidents, and retries it."""

from __future__ import annotations

import asyncio

import aiohttp
import structlog

from receiver.usecases.errors import EvidenceNotReady, IncidentNotFound
from receiver.usecases.evidence import Evidence
from receiver.workers.background import BackgroundPass

log = structlog.get_logger(__name__)


class EvidenceWorker(BackgroundPass):
    name = "evidence"

    def __init__(
        self,
        evidence: Evidence,
        session: aiohttp.ClientSession,
        wake: asyncio.Event | None = None,
    ) -> None:
        super().__init__(wake)
        self.evidence = evidence
        self.session = session

    async def run_once(self) -> int:
        """Fetch what is due (new, or missing something and due for a retry)."""
        done = 0
        for incident_id in await self.evidence.due():
            if not await self.evidence.claim(incident_id):
                continue  # another replica is on it
            try:
                await self.evidence.gather(incident_id, self.session)
            except (IncidentNotFound, EvidenceNotReady) as exc:
                log.info("evidence.skipped", incident_id=incident_id, reason=str(exc))
            else:
                done += 1
        return done

    async def refresh(self, incident_id: int) -> None:
        """On demand (review page, API): fetch again and write a new revision."""
        await self.evidence.gather(incident_id, self.session, force=True)
