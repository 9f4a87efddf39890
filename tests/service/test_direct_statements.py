"""Issue 18: the statements marked `direct` run on the driver (sqlite3, asyncpg) inside a
write transaction, and read and write exactly what SQLAlchemy's execution of the same
statement does: the same rows, the same converted values, the same counts."""

from __future__ import annotations

import json
from typing import Any

from receiver.store import Repository
from receiver.store.connection import InlineConnection, PostgresConnection
from receiver.store.direct import DirectResult
from receiver.store.statements import (
    DRAFT_CONTEXT,
    LATEST_BY_KEY,
    LATEST_BY_KEYS,
    SERIES,
    TIMELINE_OF,
)
from receiver.usecases.service import IncidentService
from tests.conftest import capture
from tests.inbox import apply_all


async def through_sqlalchemy(repo: Repository, statement: Any, parameters: Any) -> Any:
    conn = repo.conn
    if isinstance(conn, InlineConnection):
        return conn.sync.execute(statement, parameters)
    assert isinstance(conn, PostgresConnection)
    return await conn.conn.execute(statement, parameters)


async def test_direct_statements_read_what_sqlalchemy_reads(service: IncidentService) -> None:
    for name in ("firing_group_3", "resolved_group_3"):
        await service.accept("alertmanager", json.dumps(capture(name)), None)
    await apply_all(service)
    fingerprints = [alert["fingerprint"] for alert in capture("firing_group_3")["alerts"]]

    async def compare(repo: Repository) -> list[int]:
        incident = await repo.get_incident(1)  # the one incident, drafted
        assert incident is not None
        assert incident.started_at.tzinfo is not None
        cases: list[tuple[Any, dict[str, Any]]] = [
            (LATEST_BY_KEY, {"key": incident.key}),
            (TIMELINE_OF, {"incident_id": incident.id}),
            (SERIES, {"fingerprints": fingerprints}),  # an IN list, expanded per execution
            (
                DRAFT_CONTEXT,
                {
                    "key": incident.key,
                    "incident_id": incident.id,
                    "started_at": incident.started_at,
                    "service": incident.service,
                    "month_start": incident.started_at,
                    "month_end": incident.started_at,
                    "quarter_start": incident.started_at,
                    "quarter_end": incident.started_at,
                },
            ),
            # the expansion is worked out once per list length: another length, and the
            # same length with other values, read what SQLAlchemy reads too
            (LATEST_BY_KEYS, {"keys": [incident.key, "no-such-key"]}),  # a batch's keys
            (SERIES, {"fingerprints": fingerprints[:1]}),
            (SERIES, {"fingerprints": [*reversed(fingerprints[1:]), "no-such-fingerprint"]}),
        ]
        counts = []
        for statement, parameters in cases:
            direct = await repo.conn.execute(statement, parameters)
            assert isinstance(direct, DirectResult), statement  # the driver's path was taken
            expected = [
                dict(row._mapping) for row in await through_sqlalchemy(repo, statement, parameters)
            ]
            got = [dict(row._mapping) for row in direct]
            assert got == expected, statement
            assert got, statement
            counts.append(len(got))
        return counts

    counts = await service.db.run_write(compare)
    assert counts[2] == len(fingerprints)
    assert counts[4:] == [1, 1, len(fingerprints) - 1]
