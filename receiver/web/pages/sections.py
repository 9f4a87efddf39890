"""The draft's sections people fill, each with its own edit form on the incident page: which
fields a section holds, and where its heading sits in the rendered draft."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # the form's `section` value and the page anchor `section-<key>`
    headings: tuple[str, ...]  # the heading as the zh and en draft templates write it
    level: int  # ## or ###
    fields: tuple[str, ...]  # the human fields its form edits
    parts: tuple[str, ...]  # what it fills (receiver.domain.completeness.CHECKS)

    @property
    def anchor(self) -> str:
        return f"section-{self.key}"


# in the template's order; together they hold every human field and every part
SECTIONS: Final[tuple[Section, ...]] = (
    Section(
        "overview",
        ("事故概述", "Overview"),
        3,
        ("owner", "participants"),
        ("owner", "participants"),
    ),
    Section(
        "impact",
        ("业务影响", "Business impact"),
        3,
        ("affected_users", "affected_features", "business_loss", "user_feedback"),
        ("affected", "business_loss", "user_feedback"),
    ),
    Section(
        "direct_cause", ("直接原因", "Immediate cause"), 3, ("direct_cause",), ("direct_cause",)
    ),
    Section(
        "root_cause",
        ("根本原因", "Root cause"),
        3,
        ("root_cause_technical", "root_cause_process", "root_cause_human", "root_cause_external"),
        ("root_cause",),
    ),
    Section(
        "impact_chain", ("影响链分析", "Impact chain"), 3, ("impact_chain",), ("impact_chain",)
    ),
    Section(
        "containment",
        ("遏制措施", "Containment"),
        2,
        ("containment", "temporary_fix"),
        ("containment", "temporary_fix"),
    ),
    Section("improvements", ("改进措施", "Improvements"), 2, ("improvements",), ("improvements",)),
    Section(
        "lessons",
        ("经验教训", "Lessons learned"),
        2,
        ("lessons_success", "lessons_failure", "lessons_suggestions"),
        ("lessons",),
    ),
    Section("actions", ("行动计划", "Action plan"), 2, ("actions",), ("actions",)),
)
SECTION_BY_KEY: Final[dict[str, Section]] = {s.key: s for s in SECTIONS}
SECTION_OF_PART: Final[dict[str, Section]] = {p: s for s in SECTIONS for p in s.parts}


def _heading(section: Section) -> re.Pattern[str]:
    """The heading as markdown-it renders it (text escaped, no attributes)."""
    names = "|".join(re.escape(str(escape(name))) for name in section.headings)
    return re.compile(rf"<h{section.level}>(?:{names})</h{section.level}>\n?")


_HEADINGS: Final[dict[str, re.Pattern[str]]] = {s.key: _heading(s) for s in SECTIONS}


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of the rendered draft, then the section whose edit form follows it (if any)."""

    html: Markup
    section: Section | None


def split_draft(html: Markup) -> tuple[list[Piece], list[Section]]:
    """The draft cut right after each section's heading, so its form sits beside its text;
    and the sections whose heading the draft lacks (a changed template), which the page
    still offers apart. Headings are looked for in order, each after the previous one."""
    text = str(html)
    pieces: list[Piece] = []
    absent: list[Section] = []
    start = 0
    for section in SECTIONS:
        found = _HEADINGS[section.key].search(text, start)
        if found is None:
            absent.append(section)
            continue
        pieces.append(Piece(Markup(text[start : found.end()]), section))
        start = found.end()
    pieces.append(Piece(Markup(text[start:]), None))
    return pieces, absent
