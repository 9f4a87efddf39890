"""How the settings shape a draft: one place turns them into RenderOptions."""

from __future__ import annotations

from dataclasses import replace

from receiver.config import Settings
from receiver.domain.incident import Rules
from receiver.postmortem.view import RenderOptions, Targets


def render_options(settings: Settings, rules: Rules, language: str | None = None) -> RenderOptions:
    """The options of the configured language, or of `language` (checking templates)."""
    options = RenderOptions(
        language=settings.language,
        zone=settings.zone,
        rules=rules,
        public_url=settings.public_url,
        large_after=settings.large_incident_rows,
        alertmanager_url=settings.alertmanager_url,
        targets=Targets(
            mttr=settings.target_mttr,
            mtbf=settings.target_mtbf,
            incidents_per_month=settings.target_incidents_per_month,
            severe_per_quarter=settings.target_severe_per_quarter,
        ),
        links=settings.links,
        ranking=settings.ranking_rules,
        triggers=settings.postmortem_policy.triggers_on(),
    )
    return options if language is None else replace(options, language=language)
