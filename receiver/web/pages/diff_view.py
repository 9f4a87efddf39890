"""What the revisions diff page's template reads: both revisions, who wrote each and why,
and the draft's sections compared (receiver.postmortem.section_diff)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from receiver.domain.drafting import revision_cause
from receiver.postmortem.section_diff import Change, SectionDiff, diff_sections
from receiver.store import StoredDraft
from receiver.web.keys import SETTINGS
from receiver.web.pages.render import local_time
from receiver.web.pages.ui_text import UI

SECONDS = "%Y-%m-%d %H:%M:%S"


def diff_context(
    request: web.Request, incident_id: int, older: StoredDraft, newer: StoredDraft
) -> dict[str, Any]:
    sections = diff_sections(older.markdown, newer.markdown)
    changed = sum(1 for s in sections if s.change is not Change.SAME)
    return {
        "incident_id": incident_id,
        "older": revision_view(request, older),
        "newer": revision_view(request, newer),
        "blocks": folded(sections),
        "changed": changed,
        "same": len(sections) - changed,
    }


def folded(sections: list[SectionDiff]) -> list[list[SectionDiff]]:
    """Each changed section on its own; each run of unchanged ones together, to fold
    away as one (`[s]` with s.change SAME, or several)."""
    blocks: list[list[SectionDiff]] = []
    for section in sections:
        same = section.change is Change.SAME
        if same and blocks and blocks[-1][-1].change is Change.SAME:
            blocks[-1].append(section)
        else:
            blocks.append([section])
    return blocks


def revision_view(request: web.Request, draft: StoredDraft) -> dict[str, Any]:
    """A revision as the page names it: number, when, and who wrote it and why."""
    text = UI[request.app[SETTINGS].language]
    cause = revision_cause(draft.revision, draft.created_by)
    return {
        "revision": draft.revision,
        "at": local_time(request, draft.created_at, SECONDS),
        "cause": cause.value,
        "why": text[f"cause_{cause.value}"].format(user=draft.created_by or text["system"]),
    }
