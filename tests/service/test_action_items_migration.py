"""Migration 0014 on both backends: action items people wrote before it get stable ids,
and those with an owner become tracked rows the actions page lists (issue 21)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from receiver.config import Settings
from receiver.domain.action_items import ItemStatus
from receiver.store import open_configured_database
from receiver.store.action_items import ItemFilter

AT = datetime(2026, 11, 26, 19, 30)  # naive UTC, as the 0011 code stored times

INCIDENTS = sa.table(
    "incidents",
    *(sa.column(n) for n in ("id", "key", "open_key", "receiver", "group_key", "external_url")),
    *(sa.column(n) for n in ("title", "priority", "status", "service", "cycle")),
    *(sa.column(n, sa.JSON) for n in ("group_labels", "common_labels", "common_annotations")),
    *(sa.column(n, sa.DateTime) for n in ("opened_at", "started_at", "ended_at", "updated_at")),
)
HUMAN = sa.table(
    "human_fields",
    sa.column("incident_id"),
    sa.column("data", sa.JSON),
    sa.column("updated_at", sa.DateTime),
    sa.column("updated_by"),
)


async def test_items_written_before_get_ids_and_rows(settings: Settings) -> None:
    database = open_configured_database(settings)
    try:
        await database.upgrade("0011")
        async with database.write() as repo:
            await repo.conn.execute(
                INCIDENTS.insert().values(
                    id=1,
                    key="k",
                    open_key=None,
                    receiver="r",
                    group_key="g",
                    external_url="",
                    title="checkout 5xx",
                    priority="P1",
                    status="drafted",
                    service="checkout",
                    cycle=1,
                    group_labels={},
                    common_labels={},
                    common_annotations={},
                    opened_at=AT,
                    started_at=AT,
                    ended_at=AT,
                    updated_at=AT,
                )
            )
            data = {
                "actions": [
                    {"text": "扩大连接池", "owner": "lisi", "due": "2026-12-01", "done": False,
                     "horizon": "short"},
                    {"text": "没有负责人", "owner": "", "due": None, "done": False,
                     "horizon": "immediate"},
                ],
                "improvements": [
                    {"text": "压测", "owner": "wangwu", "due": None, "done": True,
                     "area": "tech_mid"},
                ],
            }  # fmt: skip
            await repo.conn.execute(
                HUMAN.insert().values(incident_id=1, data=data, updated_at=AT, updated_by="zs")
            )
        await database.migrate()
        async with database.read() as repo:
            fields = await repo.human_fields_of(1)
            rows = await repo.actions.find(ItemFilter())
        ids = [item.id for item in (*fields.actions, *fields.improvements)]
        assert all(ids)
        assert len(set(ids)) == 3
        assert [(r.item.text, r.item.kind, r.item.status) for r in rows] == [
            ("扩大连接池", "short", ItemStatus.OPEN),
            ("压测", "tech_mid", ItemStatus.DONE),
        ]
        assert {r.item.id for r in rows} == {fields.actions[0].id, fields.improvements[0].id}
        assert rows[0].created_at == AT.replace(tzinfo=UTC)
        assert rows[1].done_at is None  # when it was done is not known
    finally:
        await database.close()
