"""Which channels hear of an incident's event: routes in order, like Alertmanager's."""

from __future__ import annotations

from receiver.config.notify import NotifyEvent, NotifySettings
from receiver.domain.incident import Incident


def route_labels(incident: Incident) -> dict[str, str]:
    """What matchers see: the group's common and group labels, the service and the
    incident's priority (P0–P3; the alerts' own `severity` label stays as it is)."""
    return {
        **incident.common_labels,
        **incident.group_labels,
        "service": incident.service,
        "priority": incident.priority,
    }


def channels_for(settings: NotifySettings, labels: dict[str, str], event: NotifyEvent) -> list[str]:
    """The first matching route decides (later ones too while a route says `continue`);
    no route matching means the default channels."""
    chosen: list[str] = []
    matched = False
    for route in settings.routes:
        if not all(matcher.matches(labels) for matcher in route.matchers):
            continue
        matched = True
        events = settings.events if route.events is None else route.events
        if event in events:
            chosen.extend(name for name in route.channels if name not in chosen)
        if not route.continue_:
            break
    if not matched and event in settings.events:
        chosen = list(settings.default_channels)
    return chosen
