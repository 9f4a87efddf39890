"""The background pass that fetches evidence for recovered incidents, and retries it."""

from __future__ import annotations

import aiohttp
import structlog

from receiver.service import EvidenceNotReady, IncidentNotFound, IncidentService
from receiver.workers.background import BackgroundPass

log = structlog.get_logger(__name__)


class EvidenceWorker(BackgroundPass):
    name = "evidence"

    def __init__(self, service: IncidentService, session: aiohttp.ClientSession) -> None:
        super().__init__()
        self.service = service
        self.session = session

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
