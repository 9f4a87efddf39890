"""The incident page's change list: the changes its draft ranks, formatted for people,
with what a person may say of each (the cause, not related, or take it back)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from receiver.domain.changes import ServiceChange
from receiver.domain.suspects import Suspect, Verdict, candidates
from receiver.postmortem.filters import md_url
from receiver.web.keys import SETTINGS
from receiver.web.pages.render import local_time
from receiver.web.pages.ui_text import UI

# what the verdict form sends: a verdict, or "clear" to take one back
VERDICT_CHOICES = {"cause": Verdict.CAUSE, "unrelated": Verdict.UNRELATED, "clear": None}


RECENT_CHANGES = 10  # how many the incident list shows


def recent_list(
    request: web.Request, recent: list[tuple[ServiceChange, list[int]]]
) -> list[dict[str, Any]]:
    """The incident list's newest changes, each with the incidents that followed it."""
    text = UI[request.app[SETTINGS].language]
    return [
        {
            "time": local_time(request, change.started_at),
            "source": text[f"change_source_{change.source.value}"],
            "type": text[f"change_type_{change.type.value}"],
            "service": change.service,
            "summary": change.summary,
            "version": change.to_version or "",
            "actor": change.actor or "",
            "link": md_url(change.link or ""),
            "incidents": incidents,
        }
        for change, incidents in recent
    ]


def change_list(request: web.Request, suspects: list[Suspect]) -> list[dict[str, Any]]:
    text = UI[request.app[SETTINGS].language]
    places = {id(s): n for n, s in enumerate(candidates(suspects), 1)}
    rows = []
    for suspect in sorted(suspects, key=lambda s: s.change.started_at):
        change, verdict = suspect.change, suspect.verdict
        if verdict is not None:
            said = text[f"change_{verdict.verdict.value}_by"].format(
                user=verdict.actor, at=local_time(request, verdict.at)
            )
        elif id(suspect) in places:
            said = text["change_candidate"].format(place=places[id(suspect)])
        elif not suspect.before_first_alert:
            said = text["change_during"]
        else:
            said = ""
        versions = " → ".join(v or "?" for v in (change.from_version, change.to_version))
        rows.append(
            {
                "id": change.id,
                "time": local_time(request, change.started_at, "%m-%d %H:%M:%S"),
                "source": text[f"change_source_{change.source.value}"],
                "type": text[f"change_type_{change.type.value}"],
                "service": change.service,
                "summary": change.summary,
                "versions": versions if change.from_version or change.to_version else "",
                "actor": change.actor or "",
                "link": md_url(change.link or ""),  # only http(s)
                "said": said,
                "verdict": verdict.verdict.value if verdict else "",
            }
        )
    return rows
