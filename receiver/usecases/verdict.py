"""The postmortem policy's verdict: evaluated with every draft of an incident whose
service has SLOs (at recovery, again when the SLI figures arrive)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from receiver.config import Settings
from receiver.domain.incident import Incident
from receiver.domain.slo import Verdict, evaluate
from receiver.evidence.record import SloFigure
from receiver.evidence.slo import facts
from receiver.store import Repository
from receiver.store.policy import PENDING


async def judge(
    repo: Repository,
    settings: Settings,
    incident: Incident,
    figures: Sequence[SloFigure],
    now: datetime,
) -> Verdict | None:
    """The verdict to show and keep; None for a service without SLOs, whose incidents
    get a postmortem draft as always, nothing to weigh it by."""
    if not settings.slos.get(incident.service) or incident.id is None:
        return None
    saved = await repo.policy.of(incident.id)
    if saved is not None and saved.promoted_by:
        return saved.verdict  # a person said so: no figure undoes it
    verdict = _evaluated(settings, incident, figures)
    await repo.policy.save(incident.id, verdict, now)
    return verdict


async def settles(
    repo: Repository, settings: Settings, incident: Incident, figures: Sequence[SloFigure]
) -> bool:
    """Whether these figures settle a verdict that was waiting for them: then the draft
    gets a revision of its own, and its message tells people which trigger was met."""
    if not settings.slos.get(incident.service) or incident.id is None:
        return False
    saved = await repo.policy.of(incident.id)
    if saved is None or saved.state != PENDING:
        return False
    return not _evaluated(settings, incident, figures).unknown


def _evaluated(settings: Settings, incident: Incident, figures: Sequence[SloFigure]) -> Verdict:
    configured = settings.slos.get(incident.service, [])
    measured = {figure.name for figure in figures if figure.ok}
    return evaluate(
        settings.postmortem_policy.triggers_on(),
        incident.priority,
        [facts(figure, incident.started_at) for figure in figures],
        complete=all(slo.name in measured for slo in configured),
    )
