"""What one section's edit form shows: its fields, what is still missing in it, and, when
its save was refused, the other person's values beside the ones just typed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from receiver.domain.concurrent_edits import Conflict
from receiver.web.pages.render import LONG_FIELDS
from receiver.web.pages.sections import Section

ITEM_GROUPS = {"improvements": ("imp", "area"), "actions": ("act", "horizon")}


@dataclass(frozen=True, slots=True)
class Refused:
    """A section's save that was not stored: the page opens that section again."""

    section: str
    conflicts: Sequence[Conflict] = field(default_factory=tuple)


def section_view(
    section: Section,
    missing: Sequence[str],
    suggested: Mapping[str, str],
    refused: Refused | None,
    language: str,
) -> dict[str, Any]:
    mine = refused is not None and refused.section == section.key
    return {
        "key": section.key,
        "label": section.headings[0 if language == "zh" else 1],
        "anchor": section.anchor,
        "text_fields": [
            {"name": name, "long": name in LONG_FIELDS}
            for name in section.fields
            if name not in ITEM_GROUPS
        ],
        "item_groups": [
            {"name": name, "prefix": ITEM_GROUPS[name][0], "kind": ITEM_GROUPS[name][1]}
            for name in section.fields
            if name in ITEM_GROUPS
        ],
        "missing": [part for part in section.parts if part in missing],
        "suggested": [name for name in section.fields if name in suggested],
        "open": mine,
        "conflicts": [
            {"field": c.field, "current": _shown(c.current)}
            for c in (refused.conflicts if refused and mine else ())
        ],
    }


def _shown(value: Any) -> str:
    """Another person's value as text to read (and copy from): items one per line."""
    if isinstance(value, list):
        return "\n".join(_item(item) for item in value if isinstance(item, dict))
    return str(value)


def _item(item: Mapping[str, Any]) -> str:
    extras = [str(item[key]) for key in ("owner", "due") if item.get(key)]
    done = "[x] " if item.get("done") else "[ ] "
    return done + str(item.get("text", "")) + (f" ({', '.join(extras)})" if extras else "")
