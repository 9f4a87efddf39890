"""Two revisions of a draft compared section by section (the template's `#`, `##` and `###`
headings), line by line, and within a changed line character by character: Chinese has
no spaces between words, so a word diff would mark whole sentences. Pure: text in, rows out.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import StrEnum

# `####` sub-headings (短期改进 …) stay inside their section; a `#` inside a code block
# (the appendix's scripts) is no heading
_HEADING = re.compile(r"^(#{1,3})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
# below this share of equal characters a changed line is marked as a whole: scattered
# single equal characters between two unrelated sentences only make it harder to read
_INLINE_MIN_RATIO = 0.3


class Change(StrEnum):
    SAME = "same"
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class Section:
    """One heading and the lines under it up to the next heading of level 1 to 3."""

    title: str  # the heading's text; "" for lines before the first heading
    parent: str  # a `###` section's `##` heading, to tell same-named sections apart
    level: int
    lines: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.parent, self.title, self.level)


@dataclass(frozen=True, slots=True)
class Piece:
    text: str
    changed: bool


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a row: the line as pieces, its changed characters marked."""

    pieces: tuple[Piece, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.pieces)


@dataclass(frozen=True, slots=True)
class Row:
    old: Side | None  # None: the line is only in the newer revision
    new: Side | None  # None: the line is only in the older revision
    change: Change


@dataclass(frozen=True, slots=True)
class SectionDiff:
    title: str
    parent: str
    change: Change
    rows: tuple[Row, ...]

    @property
    def added(self) -> int:
        return sum(1 for r in self.rows if r.change in (Change.ADDED, Change.CHANGED))

    @property
    def removed(self) -> int:
        return sum(1 for r in self.rows if r.change in (Change.REMOVED, Change.CHANGED))


def split_sections(markdown: str) -> list[Section]:
    sections: list[Section] = []
    parents = ["", "", ""]  # the latest heading text per level 1-3
    title, parent, level = "", "", 0
    lines: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading is None:
            lines.append(line)
            continue
        if lines or title:
            sections.append(Section(title, parent, level, tuple(lines)))
        level = len(heading.group(1))
        title = heading.group(2)
        # a `###` section is told apart by its `##`; the `#` is the whole document
        parent = parents[1] if level == 3 else ""
        parents[level - 1 :] = [title] + [""] * (3 - level)
        lines = [line]
    if lines or title:
        sections.append(Section(title, parent, level, tuple(lines)))
    return sections


def diff_sections(older: str, newer: str) -> list[SectionDiff]:
    """Every section of both revisions in the newer one's order; sections are matched by
    their heading, and a renamed heading at the same place counts as a change."""
    old, new = split_sections(older), split_sections(newer)
    matcher = difflib.SequenceMatcher(None, [s.key for s in old], [s.key for s in new])
    result: list[SectionDiff] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        paired = min(i2 - i1, j2 - j1) if op in ("equal", "replace") else 0
        for offset in range(paired):
            result.append(_compare(old[i1 + offset], new[j1 + offset]))
        for section in old[i1 + paired : i2]:
            result.append(_one_sided(section, Change.REMOVED))
        for section in new[j1 + paired : j2]:
            result.append(_one_sided(section, Change.ADDED))
    return result


def _compare(old: Section, new: Section) -> SectionDiff:
    rows = diff_lines(old.lines, new.lines)
    same = all(r.change is Change.SAME for r in rows)
    return SectionDiff(new.title, new.parent, Change.SAME if same else Change.CHANGED, rows)


def _one_sided(section: Section, change: Change) -> SectionDiff:
    side = [Side((Piece(line, True),)) for line in section.lines]
    rows = tuple(
        Row(s, None, change) if change is Change.REMOVED else Row(None, s, change) for s in side
    )
    return SectionDiff(section.title, section.parent, change, rows)


def diff_lines(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[Row, ...]:
    """Side-by-side rows: equal lines beside each other, a replaced line beside its
    replacement with the differing characters marked, the rest on one side only."""
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            rows.extend(
                Row(Side((Piece(a, False),)), Side((Piece(a, False),)), Change.SAME)
                for a in old[i1:i2]
            )
            continue
        paired = min(i2 - i1, j2 - j1) if op == "replace" else 0
        for a, b in zip(old[i1 : i1 + paired], new[j1 : j1 + paired], strict=True):
            left, right = inline(a, b)
            rows.append(Row(left, right, Change.CHANGED))
        rows.extend(
            Row(Side((Piece(a, True),)), None, Change.REMOVED) for a in old[i1 + paired : i2]
        )
        rows.extend(Row(None, Side((Piece(b, True),)), Change.ADDED) for b in new[j1 + paired : j2])
    return tuple(rows)


def inline(old: str, new: str) -> tuple[Side, Side]:
    """Both lines as pieces, the characters only one of them has marked as changed."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    if matcher.ratio() < _INLINE_MIN_RATIO:
        return Side((Piece(old, True),)), Side((Piece(new, True),))
    left: list[Piece] = []
    right: list[Piece] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        changed = op != "equal"
        if i2 > i1:
            left.append(Piece(old[i1:i2], changed))
        if j2 > j1:
            right.append(Piece(new[j1:j2], changed))
    return Side(tuple(left)), Side(tuple(right))
