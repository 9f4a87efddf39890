"""Writes held back on PostgreSQL gather into one executemany per statement, without
ever going ahead of a write they depend on (receiver/store/held_writes.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from receiver.store.held_writes import HeldGroup, hold, referred_tables
from receiver.store.statements import (
    INSERT_ENTRIES,
    INSERT_EPISODES,
    INSERT_INCIDENT_WITH_ID,
    UPDATE_INCIDENT,
)


def held(*writes: tuple[sa.Insert | sa.Update, dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    groups: list[HeldGroup] = []
    for statement, row in writes:
        # the key stands for the compiled form: the statement and the columns it is given
        hold(groups, (id(statement), tuple(sorted(row))), statement, [row])
    return [(group.table, [row["n"] for row in group.rows]) for group in groups]


def test_the_schema_says_which_tables_refer_to_which() -> None:
    refers = referred_tables()
    assert refers["episodes"] == {"incidents"}
    assert refers["timeline"] == {"incidents"}
    assert refers["incidents"] == frozenset()


def test_new_incidents_with_their_episodes_and_rows_gather_into_one_write_per_table() -> None:
    writes = []
    for n in range(3):
        writes += [
            (INSERT_INCIDENT_WITH_ID, {"n": n, "id": n}),
            (INSERT_EPISODES, {"n": n, "incident_id": n}),
            (INSERT_ENTRIES, {"n": n, "incident_id": n}),
        ]
    # each incident before its episodes and rows: all incidents first, then the rest
    assert held(*writes) == [
        ("incidents", [0, 1, 2]),
        ("episodes", [0, 1, 2]),
        ("timeline", [0, 1, 2]),
    ]


def test_an_episode_never_goes_ahead_of_its_incident() -> None:
    # the second episode belongs to an incident opened after the first episode's group
    assert held(
        (INSERT_EPISODES, {"n": 0, "incident_id": 1}),
        (INSERT_INCIDENT_WITH_ID, {"n": 1, "id": 2}),
        (INSERT_EPISODES, {"n": 2, "incident_id": 2}),
    ) == [("episodes", [0]), ("incidents", [1]), ("episodes", [2])]


def test_a_write_never_goes_ahead_of_another_statement_on_its_own_table() -> None:
    # an incident closed (its open key cleared), then another of its key opened: the
    # second opening stays behind the update, which the unique open key requires
    assert held(
        (INSERT_INCIDENT_WITH_ID, {"n": 0, "id": 1}),
        (UPDATE_INCIDENT, {"n": 1, "b_id": 1, "open_key": None}),
        (INSERT_INCIDENT_WITH_ID, {"n": 2, "id": 2}),
    ) == [("incidents", [0]), ("incidents", [1]), ("incidents", [2])]


def test_updates_with_other_columns_are_other_statements() -> None:
    assert held(
        (UPDATE_INCIDENT, {"n": 0, "b_id": 1, "updated_at": None}),
        (UPDATE_INCIDENT, {"n": 1, "b_id": 2, "updated_at": None}),
        (UPDATE_INCIDENT, {"n": 2, "b_id": 3, "status": "drafted"}),
        (UPDATE_INCIDENT, {"n": 3, "b_id": 4, "updated_at": None}),
    ) == [("incidents", [0, 1]), ("incidents", [2]), ("incidents", [3])]
