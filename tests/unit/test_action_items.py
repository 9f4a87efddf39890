"""Action items keep their ids through renames and reorders (issue 21)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from receiver.domain.action_items import (
    DropReasonMissing,
    ItemNotFound,
    ItemStatus,
    is_overdue,
    tracked,
    with_ids,
    with_status,
)
from receiver.domain.review import HumanFields


def counter() -> Callable[[], str]:
    numbers = iter(range(1, 1000))
    return lambda: f"id{next(numbers)}"


def fields(*items: dict[str, object]) -> HumanFields:
    return HumanFields.model_validate({"actions": list(items)})


def test_new_items_get_ids_and_keep_them_when_renamed_and_reordered() -> None:
    new_id = counter()
    first = with_ids(HumanFields(), fields({"text": "a", "owner": "x"}, {"text": "b"}), new_id)
    assert [i.id for i in first.actions] == ["id1", "id2"]
    renamed = fields({"id": "id2", "text": "b2"}, {"id": "id1", "text": "a2", "owner": "x"})
    second = with_ids(first, renamed, new_id)
    assert [(i.id, i.text) for i in second.actions] == [("id2", "b2"), ("id1", "a2")]


def test_an_item_sent_without_its_id_keeps_the_id_of_the_same_text() -> None:
    new_id = counter()
    first = with_ids(HumanFields(), fields({"text": "a"}), new_id)
    again = with_ids(first, fields({"text": "c"}, {"text": "a"}), new_id)
    assert [(i.text, i.id) for i in again.actions] == [("c", "id2"), ("a", "id1")]


def test_an_unknown_or_repeated_id_is_replaced() -> None:
    new_id = counter()
    first = with_ids(HumanFields(), fields({"text": "a"}), new_id)
    sent = fields(
        {"id": "other", "text": "x"}, {"id": "id1", "text": "a"}, {"id": "id1", "text": "b"}
    )
    ids = [i.id for i in with_ids(first, sent, new_id).actions]
    assert ids[1] == "id1"
    assert len(set(ids)) == 3
    assert "other" not in ids


def test_only_items_with_an_owner_are_tracked() -> None:
    data = with_ids(HumanFields(), fields({"text": "a", "owner": "x"}, {"text": "b"}), counter())
    assert [(t.id, t.owner, t.status) for t in tracked(7, data)] == [("id1", "x", ItemStatus.OPEN)]


def test_status_done_dropped_and_open_again() -> None:
    data = with_ids(HumanFields(), fields({"text": "a", "owner": "x"}), counter())
    done = with_status(data, "id1", ItemStatus.DONE)
    assert done.actions[0].done
    assert tracked(1, done)[0].status is ItemStatus.DONE
    dropped = with_status(done, "id1", ItemStatus.DROPPED, "no longer needed")
    assert tracked(1, dropped)[0].status is ItemStatus.DROPPED
    assert tracked(1, dropped)[0].reason == "no longer needed"
    reopened = with_status(dropped, "id1", ItemStatus.OPEN)
    assert not reopened.actions[0].done
    assert not reopened.actions[0].dropped
    with pytest.raises(DropReasonMissing):
        with_status(data, "id1", ItemStatus.DROPPED, "  ")
    with pytest.raises(ItemNotFound):
        with_status(data, "nope", ItemStatus.DONE)


def test_overdue_is_open_and_due_before_today() -> None:
    today = date(2026, 12, 7)
    assert is_overdue(date(2026, 12, 6), ItemStatus.OPEN, today)
    assert not is_overdue(date(2026, 12, 7), ItemStatus.OPEN, today)
    assert not is_overdue(date(2026, 12, 6), ItemStatus.DONE, today)
    assert not is_overdue(None, ItemStatus.OPEN, today)
