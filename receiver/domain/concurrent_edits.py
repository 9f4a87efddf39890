"""Two people editing one draft at once: a save says which draft revision it was based on;
fields someone else changed since then are kept unless this save changes them too, which
is a conflict. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from receiver.domain.review import HumanFields


@dataclass(frozen=True, slots=True)
class Edit:
    """One stored edit: the draft revision it wrote and its fields' values before it."""

    revision: int
    before: Mapping[str, Any]  # field name → JSON value the edit replaced


@dataclass(frozen=True, slots=True)
class Conflict:
    field: str
    current: Any  # the value someone else saved since the base revision (JSON)
    yours: Any  # the value this save wanted (JSON)


class EditConflict(Exception):
    """A save based on an older revision changes fields someone else changed since."""

    def __init__(self, conflicts: Sequence[Conflict], revision: int) -> None:
        names = ", ".join(c.field for c in conflicts)
        super().__init__(
            f"changed by someone else since the revision this save was based on: {names}; "
            f"the latest revision is {revision}"
        )
        self.conflicts = list(conflicts)
        self.revision = revision


def rebased(
    patch: Mapping[str, object],
    current: HumanFields,
    base_revision: int,
    edits: Sequence[Edit],
    latest_revision: int,
) -> dict[str, object]:
    """The part of `patch` to apply on top of `current`, for a save made on
    `base_revision`. A field the save left as it was at the base is dropped, so another
    person's change to it stays; a field both changed differently raises EditConflict.
    Raises ValidationError on bad input, as merging does."""
    proposed = current.merged(dict(patch)).model_dump(mode="json")
    now = current.model_dump(mode="json")
    at_base = _values_at(base_revision, edits)
    kept: dict[str, object] = {}
    conflicts: list[Conflict] = []
    for name in patch:
        mine, theirs = proposed[name], now[name]
        if mine == theirs:
            continue  # nothing to change
        base = at_base.get(name, theirs)
        if mine == base:
            continue  # this save did not change it; a later change by someone else stays
        if base != theirs:
            conflicts.append(Conflict(name, theirs, mine))
        else:
            kept[name] = patch[name]
    if conflicts:
        raise EditConflict(conflicts, latest_revision)
    return kept


def _values_at(base_revision: int, edits: Sequence[Edit]) -> dict[str, Any]:
    """Each field changed after `base_revision`, with its value at that revision: what the
    first later edit of it replaced."""
    values: dict[str, Any] = {}
    for edit in sorted(edits, key=lambda e: e.revision):
        if edit.revision > base_revision:
            for name, value in edit.before.items():
                values.setdefault(name, value)
    return values
