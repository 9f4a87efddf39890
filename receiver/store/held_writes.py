"""Writes held back until the transaction next reads: the applier's batch on PostgreSQL.

On PostgreSQL every statement is a round trip. A batch of webhooks writes three or four
rows per webhook (its incident, episodes, timeline rows) and reads none of them back.
Held here, they go out at the transaction's next read, or at the end of the batch, as one
executemany per statement (asyncpg sends all its rows in one round trip) instead of one
round trip per row.

The rows of one statement gather into one executemany. A write may go ahead of earlier
writes to other tables when its table refers to none of theirs (an episode never goes
before the incident it belongs to), never ahead of an earlier write to its own table by
another statement (an incident closed before another of its key opens, which the unique
open key requires). Only marked INSERTs and UPDATEs the caller sends through
`connection.write` are held: the caller says nobody reads their result (what PostgreSQL's
dialect has an INSERT return, the new row's id, is dropped).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa

from receiver.store.schema import metadata


@dataclass(slots=True)
class HeldGroup:
    """Rows for one statement, written by one executemany."""

    key: Hashable  # the statement as compiled for these columns
    table: str
    statement: sa.Executable
    rows: list[Mapping[str, Any]]


def hold(
    groups: list[HeldGroup],
    key: Hashable,
    statement: sa.Insert | sa.Update,
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """Add a write's rows to the held groups: to the latest group of the same statement
    when no group after it must stay ahead of them, else as a new group at the end."""
    assert isinstance(statement.table, sa.Table)
    table = statement.table.name
    ahead = referred_tables().get(table, frozenset())
    for group in reversed(groups):
        if group.key == key:
            group.rows.extend(rows)
            return
        if group.table == table or group.table in ahead:
            break  # these rows must stay behind that group's
    groups.append(HeldGroup(key, table, statement, list(rows)))


@cache
def referred_tables() -> dict[str, frozenset[str]]:
    """For each table, the tables its foreign keys refer to: from the schema."""
    return {
        name: frozenset(key.column.table.name for key in table.foreign_keys)
        for name, table in metadata.tables.items()
    }
