"""Review: what people write into the draft, and the drafted → in_review → approved
lifecycle. Every change is audited and redraws the draft."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from receiver.domain.action_items import tracked, with_ids
from receiver.domain.completeness import DEFAULT_REQUIRED, missing_for_approval
from receiver.domain.concurrent_edits import Edit, rebased
from receiver.domain.incident import Change, IncidentState, IncidentStatus
from receiver.domain.review import HumanFields, check_editable, move
from receiver.store import AuditRecord, Repository
from receiver.usecases.errors import IncidentNotFound
from receiver.usecases.recording import IngestResult, Recorder
from receiver.usecases.unit_of_work import UnitOfWork, load


class Review:
    def __init__(
        self, uow: UnitOfWork, recorder: Recorder, required: Sequence[str] = DEFAULT_REQUIRED
    ) -> None:
        self.uow = uow
        self.recorder = recorder
        self.required = tuple(required)  # what approval needs filled

    async def update_human_fields(
        self,
        incident_id: int,
        patch: dict[str, object],
        actor: str,
        base_revision: int | None = None,
    ) -> IngestResult:
        """Merge a person's fields into the incident's and write a new draft revision. With
        the `base_revision` the person saw, other people's later changes stay and a field
        both changed raises EditConflict; without it, the patch replaces."""

        async def step(repo: Repository, now: datetime) -> Change:
            state = await load(repo, incident_id)  # locked: edits of one incident take turns
            check_editable(state.incident)
            # items saved before they had ids get theirs here, not counted as a change
            stored = await repo.human_fields_of(incident_id)
            before = with_ids(stored, stored, new_item_id)
            latest = await repo.latest_draft(incident_id)
            latest_revision = latest.revision if latest else 0
            wanted = patch
            if base_revision is not None:
                edits = _edits(await repo.audit_of(incident_id))
                wanted = rebased(patch, before, base_revision, edits, latest_revision)
            # raises ValidationError on bad input; items keep their ids (issue 21)
            after = with_ids(before, before.merged(wanted), new_item_id)
            return await store_fields(repo, state, before, after, actor, now, latest_revision)

        return await self.recorder.record("edit", step)

    async def change_status(
        self,
        incident_id: int,
        target: IncidentStatus,
        actor: str,
        override_reason: str = "",
    ) -> IngestResult:
        """drafted → in_review → approved, and back to in_review; approval records who, and
        is refused while required fields are empty unless a reason overrides it."""

        async def step(repo: Repository, now: datetime) -> Change:
            state = await load(repo, incident_id)
            before = state.incident.status
            fields = await repo.human_fields_of(incident_id)
            missing = missing_for_approval(fields, self.required)
            move(
                state.incident, target, actor, now, missing=missing, override_reason=override_reason
            )
            detail: dict[str, object] = {"from": before.value, "to": target.value}
            if state.incident.approval_override and target is IncidentStatus.APPROVED:
                detail["override_reason"] = state.incident.approval_override
                detail["missing"] = missing
            await repo.record_audit(incident_id, actor, "status", detail, now)
            return Change(state=state, refresh_draft=True)

        return await self.recorder.record("status", step)

    async def human_fields(self, incident_id: int) -> HumanFields:
        async with self.uow.db.read() as repo:
            if await repo.get_incident(incident_id) is None:
                raise IncidentNotFound(f"no incident with id {incident_id}")
            return await repo.human_fields_of(incident_id)

    async def audit_log(self, incident_id: int) -> list[AuditRecord]:
        async with self.uow.db.read() as repo:
            return await repo.audit_of(incident_id)


async def store_fields(
    repo: Repository,
    state: IncidentState,
    before: HumanFields,
    after: HumanFields,
    actor: str,
    now: datetime,
    latest_revision: int,
    extra: dict[str, object] | None = None,
) -> Change:
    """Store people's changed fields, audited with what they were, their tracked action
    items rewritten, and a new draft revision by `actor` once the alerts have recovered.
    The form's saves and the actions page's status changes both end here."""
    assert state.incident.id is not None
    incident_id = state.incident.id
    changed = before.changed_fields(after)
    change = Change(state=state)
    if not changed:
        return change
    old = before.model_dump(mode="json")
    detail: dict[str, object] = {"fields": changed, "before": {n: old[n] for n in changed}}
    detail.update(extra or {})
    if not state.incident.is_open:  # else no revision is drawn until recovery
        detail["revision"] = latest_revision + 1
    await repo.save_human_fields(incident_id, after, actor, now)
    await repo.actions.sync(
        incident_id, tracked(incident_id, after), actor=actor, revision=_revision(detail), now=now
    )
    await repo.record_audit(incident_id, actor, "edit", detail, now)
    change.revise(actor, now)
    return change


def new_item_id() -> str:
    """A new action item's id: random, so replicas never hand out the same one."""
    return secrets.token_hex(8)


def _revision(detail: dict[str, object]) -> int | None:
    revision = detail.get("revision")
    return revision if isinstance(revision, int) else None


def _edits(records: Sequence[AuditRecord]) -> list[Edit]:
    """The edits that say which revision they wrote (older ones, and edits while the
    alerts still fired, do not take part in conflict checks)."""
    return [
        Edit(int(r.detail["revision"]), dict(r.detail.get("before", {})))
        for r in records
        if r.action == "edit" and isinstance(r.detail.get("revision"), int)
    ]
