"""What the incident page's template reads: one incident's page data, formatted for people."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from markupsafe import Markup

from receiver.domain.action_items import is_overdue
from receiver.domain.completeness import completeness, missing_for_approval
from receiver.domain.ending import known_end
from receiver.domain.incident import IncidentStatus, Phase
from receiver.domain.ordering import in_display_order
from receiver.domain.review import TRANSITIONS, ActionHorizon, ImprovementArea
from receiver.domain.suggestions import suggest
from receiver.evidence.view import MAX_CHARTS, chart_file
from receiver.notify.compose import postmortem_text
from receiver.notify.platforms.wording import span
from receiver.store.policy import REQUIRED, StoredVerdict
from receiver.usecases.queries import IncidentPage
from receiver.web.keys import EVIDENCE, SERVICE, SETTINGS
from receiver.web.pages.activity import activity_text
from receiver.web.pages.markdown import to_html
from receiver.web.pages.prefill import prefill
from receiver.web.pages.render import (
    BLANK_ITEM_ROWS,
    duration_text,
    local_time,
)
from receiver.web.pages.section_view import Refused, section_view
from receiver.web.pages.sections import SECTION_OF_PART, SECTIONS, split_draft
from receiver.web.pages.ui_text import PART_LABELS, UI

SECONDS = "%Y-%m-%d %H:%M:%S"


def incident_context(
    request: web.Request,
    page: IncidentPage,
    wanted_revision: int,
    form: dict[str, Any] | None,
    refused: Refused | None = None,
) -> dict[str, Any]:
    """The template's context. `wanted_revision` 0 shows the latest draft; `form` is what
    a person just sent when it was refused (`refused` says which section and why), so
    the page shows it again."""
    settings = request.app[SETTINGS]
    required = settings.approval_required
    detail = page.detail
    incident, drafts = detail.incident, detail.drafts
    shown = next(
        (d for d in drafts if d.revision == wanted_revision), drafts[-1] if drafts else None
    )
    locked = incident.status is IncidentStatus.APPROVED
    # a refused section is shown as sent, and an approved draft as stored: no suggestions
    # there; the other sections keep theirs
    sent = form or {}
    suggested = (
        {}
        if locked
        else {
            name: text
            for name, text in prefill(
                suggest(detail.timeline),
                page.fields,
                settings.language,
                lambda at: local_time(request, at, "%H:%M:%S"),
            ).items()
            if name not in sent
        }
    )
    values = {**page.fields.model_dump(mode="json"), **suggested, **sent}
    done = completeness(page.fields)
    required_missing = missing_for_approval(page.fields, required)
    # the same evidence the draft uses: only when this receiver asks Prometheus
    evidence = page.metric_evidence if EVIDENCE in request.app else None
    draft_html = (
        _with_chart_urls(to_html(shown.markdown), shown.file_name, page.incident_id)
        if shown
        else None
    )
    # the draft cut at each section people fill, for its edit form; no draft: forms only
    pieces, absent = split_draft(draft_html) if draft_html else ([], list(SECTIONS))
    end, end_source = known_end(incident, detail.timeline, bool(detail.episodes), evidence)
    return {
        "incident": incident,
        "start": local_time(request, incident.started_at, SECONDS),
        "end": local_time(request, incident.ended_at, SECONDS),
        "duration": duration_text(incident, end),
        "duration_estimated": end_source.estimated,
        "end_source": end_source.kind,
        "approved_at": local_time(request, incident.approved_at),
        "phases": {
            phase.value: [
                {"time": local_time(request, e.at, "%m-%d %H:%M:%S"), "entry": e}
                for e in in_display_order(detail.timeline)
                if e.phase is phase
            ]
            for phase in Phase
        },
        "draft": shown,
        "draft_html": draft_html,
        "pieces": pieces,
        "sections": {
            s.key: section_view(s, done.missing, suggested, refused, settings.language)
            for s in SECTIONS
        },
        "absent_sections": absent,
        "base_revision": drafts[-1].revision if drafts else 0,
        "meter": [{"part": name, "anchor": SECTION_OF_PART[name].anchor} for name in done.missing],
        "alerts": [
            {
                "name": e.labels.get("alertname", ""),
                "subject": e.subject,
                "start": local_time(request, e.starts_at, "%m-%d %H:%M:%S"),
                "end": local_time(request, e.ends_at, "%m-%d %H:%M:%S"),
                "resolved": e.resolved,
            }
            for e in sorted(detail.episodes, key=lambda e: e.starts_at)
        ],
        "evidence_enabled": EVIDENCE in request.app,
        "revisions": [
            {"draft": d, "at": local_time(request, d.updated_at, SECONDS)} for d in reversed(drafts)
        ],
        "history": [
            activity_text(r, settings.language, lambda at: local_time(request, at))
            for r in page.audit
        ],
        "moves": sorted(s.value for s in TRANSITIONS.get(incident.status, frozenset())),
        "values": values,
        "improvements": values.get("improvements", []) + [{}] * BLANK_ITEM_ROWS,
        "actions": values.get("actions", []) + [{}] * BLANK_ITEM_ROWS,
        "areas": [a.value for a in ImprovementArea],
        "horizons": [h.value for h in ActionHorizon],
        "locked": locked,
        "completeness": done,
        "required": required,
        "required_missing": required_missing,
        "required_labels": UI[settings.language]["list_sep"].join(
            PART_LABELS[settings.language][name] for name in required_missing
        ),
        "part_labels": PART_LABELS[settings.language],
        "similar": _similar(request, page),
        **policy_context(page.verdict, settings.language, locked),
    }


def _similar(request: web.Request, page: IncidentPage) -> dict[str, Any] | None:
    """The similar past incidents (issue 21) and the items they left open."""
    found = page.similar
    if not found.linked:
        return None
    today = request.app[SERVICE].actions.today()
    language = request.app[SETTINGS].language
    return {
        "incidents": [
            {
                "id": m.past.id,
                "title": page.similar_titles.get(m.past.id, ""),
                "start": local_time(request, m.past.started_at),
                "status": m.past.status,
                "reason": m.reason.value,
                "open_actions": m.past.open_actions,
            }
            for m in found.linked
        ],
        "mtbf": None if found.mtbf is None else span(found.mtbf, language),
        "open_items": [
            {"item": item, "overdue": is_overdue(item.due, item.status, today)}
            for item in found.open_items
        ],
    }


def policy_context(verdict: StoredVerdict | None, language: str, locked: bool) -> dict[str, Any]:
    """The postmortem policy's verdict in words, and whether people may still promote it."""
    if verdict is None:
        return {"policy_text": "", "promotable": False}
    return {
        "policy_text": postmortem_text(verdict.verdict, language),
        "promotable": verdict.state != REQUIRED and not locked,
    }


def _with_chart_urls(html: Markup, draft_file: str, incident_id: int) -> Markup:
    """The draft names its charts as files beside it; on the page they come from the
    store. File names are ASCII slugs, so markdown-it wrote them into src unchanged."""
    text = str(html)
    for number in range(1, MAX_CHARTS + 1):
        name = chart_file(draft_file, number)
        text = text.replace(
            f'src="{name}"', f'src="/incidents/{incident_id}/evidence/{number}.svg"'
        )
    return Markup(text)
