"""A person's say over the postmortem policy: a postmortem is required after all."""

from __future__ import annotations

from datetime import datetime

from receiver.domain.incident import Change
from receiver.domain.review import check_editable
from receiver.store import Repository
from receiver.store.policy import REQUIRED
from receiver.usecases.errors import NotPromotable
from receiver.usecases.recording import IngestResult, Recorder
from receiver.usecases.unit_of_work import load


class Policy:
    """People's say over the policy: a postmortem is required after all."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def promote(self, incident_id: int, actor: str) -> IngestResult:
        """Mark an incident the policy let go as requiring a postmortem; its draft gets a
        revision that says who decided. Already required: nothing changes."""

        async def step(repo: Repository, now: datetime) -> Change:
            state = await load(repo, incident_id)
            check_editable(state.incident)  # an approved postmortem exists already
            saved = await repo.policy.of(incident_id)
            if saved is None:
                raise NotPromotable(f"incident {incident_id} has no postmortem policy verdict")
            change = Change(state=state)
            if saved.state != REQUIRED:
                await repo.policy.promote(incident_id, actor, now)
                detail: dict[str, object] = {
                    "before": saved.state,
                    "trigger": saved.verdict.trigger,
                }
                await repo.record_audit(incident_id, actor, "promote", detail, now)
                change.revise(actor, now)
            return change

        return await self.recorder.record("promote", step)
