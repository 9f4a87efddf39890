"""Incidents for a terminal: the list's rows under a header, and one incident's summary as
its review page's header says it (the pages' own words, receiver/web/pages/ui_text.py)."""

from __future__ import annotations

from collections.abc import Sequence

from receiver.cli.texts import say
from receiver.config import Settings
from receiver.domain.completeness import completeness, missing_for_approval
from receiver.domain.ending import known_end
from receiver.domain.incident import Incident
from receiver.domain.moments import in_zone
from receiver.evidence.collect import evidence_wanted
from receiver.usecases.queries import IncidentPage
from receiver.web.pages.render import duration_text
from receiver.web.pages.ui_text import PART_LABELS, STATUS_LABELS, UI

MINUTES = "%Y-%m-%d %H:%M"
SECONDS = "%Y-%m-%d %H:%M:%S"


def list_lines(settings: Settings, incidents: Sequence[Incident]) -> list[str]:
    """A header, then one tab-separated row per incident. The status stays the value
    `--status` takes, so a row can be fed back into a filter."""
    rows = [say(settings.language, "list_header")]
    for incident in incidents:
        started = in_zone(incident.started_at, settings.zone)
        rows.append(
            f"#{incident.id}\t{incident.status.value}\t{incident.priority}\t"
            f"{started:{MINUTES}}\t{incident.service}\t{_one_line(incident.title)}"
        )
    return rows


def summary_lines(settings: Settings, page: IncidentPage) -> list[str]:
    """Title, level and status, start and end (with where the end comes from, and 约 when
    it is estimated), duration, owner and how complete the draft is."""
    language = settings.language
    t = UI[language]
    detail = page.detail
    incident = detail.incident
    evidence = page.metric_evidence if evidence_wanted(settings) else None
    end, source = known_end(incident, detail.timeline, bool(detail.episodes), evidence)
    sep = "：" if language == "zh" else ": "
    lines = [
        f"#{incident.id} {_one_line(incident.title)}",
        f"{t['priority']}{sep}{incident.priority}  "
        f"{t['status']}{sep}{STATUS_LABELS[language][incident.status.value]}"
        + (f"  {t['service']}{sep}{incident.service}" if incident.service else ""),
        f"{t['start']}{sep}{in_zone(incident.started_at, settings.zone):{SECONDS}}",
    ]
    if end is None:
        lines.append(f"{say(language, 'end')}{sep}{say(language, 'not_ended')}")
    else:
        about = f"{t['about']} " if source.estimated else ""
        lines.append(
            f"{say(language, 'end')}{sep}{about}{in_zone(end, settings.zone):{SECONDS}}"
            f"{_end_source(language, source.kind)}"
        )
        lines.append(f"{t['duration']}{sep}{about}{duration_text(incident, end)}")
    fields = detail.fields
    lines.append(f"{t['owner']}{sep}{fields.owner or say(language, 'no_owner')}")
    filled = completeness(fields)
    line = t["completeness"].format(filled=filled.filled, total=filled.total)
    if filled.missing:
        required = set(missing_for_approval(fields, settings.approval_required))
        hint = f"（{t['required_hint']}）" if language == "zh" else f" ({t['required_hint']})"
        named = [
            PART_LABELS[language][name] + (hint if name in required else "")
            for name in filled.missing
        ]
        semicolon = "；" if language == "zh" else "; "
        line += f"{semicolon}{t['still_missing']}{sep}{t['list_sep'].join(named)}"
    lines.append(line)
    return lines


def _end_source(language: str, kind: str) -> str:
    if kind in ("reconcile", "reported", "evidence"):
        return UI[language][f"end_{kind}"]
    if kind in ("ends_at", "manual"):
        return say(language, f"end_{kind}")
    return ""


def _one_line(text: str) -> str:
    """A title on one line: a tab or newline in it would break the columns."""
    return " ".join(text.split())
