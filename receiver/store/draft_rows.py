"""The rows of drafts, what people wrote into them, and who did what."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from receiver.domain.drafting import Revision
from receiver.domain.history import History
from receiver.domain.incident import Incident
from receiver.domain.review import HumanFields
from receiver.store.connection import Connection
from receiver.store.mapping import from_row, to_values
from receiver.store.records import AuditRecord, DraftContext, StoredDraft
from receiver.store.schema import audit, drafts, human_fields
from receiver.store.statements import (
    DRAFT_CONTEXT,
    HUMAN_FIELDS_OF,
    INSERT_DRAFT,
    LATEST_DRAFT,
    MARK_EXPORTED,
    SEVERE,
    UPDATE_DRAFT,
)


class DraftRows:
    conn: Connection

    # -- what a draft is rendered from --------------------------------------------

    async def draft_context(
        self,
        incident: Incident,
        month: tuple[datetime, datetime],
        quarter: tuple[datetime, datetime],
    ) -> DraftContext:
        """Earlier incidents (for the KPI section: `month` and `quarter` bound its counts),
        the latest draft revision and people's fields, in one query."""
        row = (
            await self.conn.execute(
                DRAFT_CONTEXT,
                {
                    "key": incident.key,
                    "incident_id": incident.id,
                    "started_at": incident.started_at,
                    "service": incident.service,
                    "month_start": month[0],
                    "month_end": month[1],
                    "quarter_start": quarter[0],
                    "quarter_end": quarter[1],
                },
            )
        ).one()
        in_month = month[0] <= incident.started_at < month[1]
        in_quarter = quarter[0] <= incident.started_at < quarter[1]
        history = History(
            previous_end=row.previous_end,
            service_incidents_in_month=int(row.in_month or 0) + in_month,
            service_p0_p1_in_quarter=int(row.severe_in_quarter or 0)
            + (in_quarter and incident.priority in SEVERE),
        )
        latest = (
            None
            if row.latest_revision is None
            else Revision(row.latest_revision, row.latest_created_at, row.latest_created_by)
        )
        return DraftContext(history, latest, _human_fields(row.human), row.latest_file_name)

    # -- drafts ---------------------------------------------------------------------

    async def latest_draft(self, incident_id: int) -> StoredDraft | None:
        row = (await self.conn.execute(LATEST_DRAFT, {"incident_id": incident_id})).first()
        return None if row is None else from_row(StoredDraft, row)

    async def draft_revisions(self, incident_id: int) -> list[StoredDraft]:
        rows = await self.conn.execute(
            sa.select(drafts).where(drafts.c.incident_id == incident_id).order_by(drafts.c.revision)
        )
        return [from_row(StoredDraft, row) for row in rows]

    async def insert_draft(self, draft: StoredDraft, *, export: bool) -> None:
        await self.conn.execute(
            INSERT_DRAFT,
            {"export_pending": export, **to_values(draft, without=("renamed",))},
        )

    async def update_draft(self, draft: StoredDraft, *, export: bool) -> None:
        await self.conn.execute(
            UPDATE_DRAFT,
            {
                "b_incident_id": draft.incident_id,
                "b_revision": draft.revision,
                "markdown": draft.markdown,
                "updated_at": draft.updated_at,
                "file_name": draft.file_name,
                "export_pending": export,
            },
        )

    async def mark_exported(self, written: Sequence[StoredDraft]) -> None:
        """The files hold these drafts — unless one was re-rendered meanwhile."""
        if not written:
            return
        await self.conn.execute(
            MARK_EXPORTED,
            [
                {
                    "b_incident_id": draft.incident_id,
                    "b_revision": draft.revision,
                    "b_updated_at": draft.updated_at,
                }
                for draft in written
            ],
        )

    async def pending_exports(self, limit: int) -> list[StoredDraft]:
        """The newest revision of each incident whose draft file is still to be written."""
        newest = (
            sa.select(drafts.c.incident_id, sa.func.max(drafts.c.revision).label("revision"))
            .where(drafts.c.export_pending.is_(True))
            .group_by(drafts.c.incident_id)
            .subquery()
        )
        rows = await self.conn.execute(
            sa.select(drafts)
            .join(
                newest,
                sa.and_(
                    drafts.c.incident_id == newest.c.incident_id,
                    drafts.c.revision == newest.c.revision,
                ),
            )
            .order_by(drafts.c.incident_id)
            .limit(limit)
        )
        return [from_row(StoredDraft, row) for row in rows]

    async def incident_ids_with_drafts(self) -> list[int]:
        ids = await self.conn.scalars(
            sa.select(drafts.c.incident_id).distinct().order_by(drafts.c.incident_id)
        )
        return [int(incident_id) for incident_id in ids]

    async def draft_revision(self, incident_id: int, revision: int) -> StoredDraft | None:
        row = (
            await self.conn.execute(
                sa.select(drafts).where(
                    drafts.c.incident_id == incident_id, drafts.c.revision == revision
                )
            )
        ).first()
        return None if row is None else from_row(StoredDraft, row)

    # -- what people wrote, and who did what ----------------------------------------------

    async def human_fields_of(self, incident_id: int) -> HumanFields:
        return _human_fields(await self.conn.scalar(HUMAN_FIELDS_OF, {"incident_id": incident_id}))

    async def save_human_fields(
        self, incident_id: int, fields: HumanFields, actor: str, now: datetime
    ) -> None:
        values = {
            "data": fields.model_dump(mode="json"),
            "updated_at": now,
            "updated_by": actor,
        }
        updated = await self.conn.execute(
            sa.update(human_fields)
            .where(human_fields.c.incident_id == incident_id)
            .values(**values)
        )
        if updated.rowcount == 0:
            await self.conn.execute(
                sa.insert(human_fields).values(incident_id=incident_id, **values)
            )

    async def record_audit(
        self,
        incident_id: int,
        actor: str,
        action: str,
        detail: dict[str, Any],
        now: datetime,
    ) -> None:
        await self.conn.execute(
            sa.insert(audit).values(
                incident_id=incident_id,
                at=now,
                actor=actor,
                action=action,
                detail=detail,
            )
        )

    async def audit_of(self, incident_id: int) -> list[AuditRecord]:
        rows = await self.conn.execute(
            sa.select(audit).where(audit.c.incident_id == incident_id).order_by(audit.c.id)
        )
        return [AuditRecord(row.at, row.actor, row.action, dict(row.detail)) for row in rows]


def _human_fields(data: Any) -> HumanFields:
    """People's fields as stored (JSON), or none yet."""
    return HumanFields() if data is None else HumanFields.model_validate(data)
