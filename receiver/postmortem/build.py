"""Build a draft's view from an incident: the facts the template shows, formatted.

Pure: the caller passes the incident, its episodes, timeline and history, and the clock.
"""

from __future__ import annotations

import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from receiver.alertmanager import grafana
from receiver.config import DEFAULT_SEVERITY_MAP
from receiver.domain.action_items import is_overdue
from receiver.domain.change_actions import change_action_rows
from receiver.domain.completeness import completeness
from receiver.domain.ending import known_end
from receiver.domain.incident import (
    EntryKind,
    Episode,
    Incident,
    Phase,
    TimelineEntry,
    highest_priority,
    priority_of,
)
from receiver.domain.lifecycle import resolved_key
from receiver.domain.moments import in_zone
from receiver.domain.ordering import in_display_order, natural_key
from receiver.domain.suggestions import suggest
from receiver.domain.suspects import IncidentFacts, Suspect, candidates, rank
from receiver.postmortem.filters import md_url
from receiver.postmortem.impact import policy_line, slo_lines
from receiver.postmortem.view import (
    AlertLine,
    ChangeLine,
    DraftInput,
    DraftView,
    Interval,
    OpenItemLine,
    RenderOptions,
    Row,
    SimilarLine,
    SimilarView,
    ValuesLine,
)

# The template's rows per phase that people fill in; an entry kind covers a step.
TEMPLATE_STEPS: Mapping[Phase, tuple[str, ...]] = {
    Phase.DETECT: ("ack", "assemble"),
    Phase.HANDLE: ("restart", "rollback", "scale", "root_cause", "mitigate", "fix"),
    Phase.RECOVER: ("verify", "monitor_ok", "notify_users", "resolve"),
}
STEP_OF_KIND: Mapping[str, str] = {EntryKind.ALL_RESOLVED.value: "monitor_ok"}
# What people did to contain and fix, in the template's order (处理阶段 and 遏制措施).
HANDLING_KINDS = ("restart", "rollback", "scale", "mitigate", "fix")
# Rows of one kind beyond this many are folded into one "N more" row in the tables.
FOLD_AFTER = 10
_DASHBOARD_ANNOTATIONS = (
    "dashboard",
    "dashboard_url",
    "grafana_url",
    "grafana",
    grafana.DASHBOARD_URL,
)


def build_view(data: DraftInput, options: RenderOptions) -> DraftView:
    incident = data.incident
    assert incident.id is not None
    zone = options.zone
    episodes = sorted(
        data.episodes, key=lambda e: (e.starts_at, natural_key(e.subject), e.fingerprint)
    )
    start = incident.started_at
    end, end_source = known_end(incident, data.timeline, bool(episodes), data.metric_evidence)
    suspects = rank(
        data.changes,
        IncidentFacts(
            [e.labels for e in episodes] or [incident.common_labels], start, end or data.now
        ),
        options.ranking,
        data.verdicts,
    )
    # rollbacks and scaling the change feeds told of become rows of the 处理阶段
    timeline = [*data.timeline, *change_action_rows(suspects, data.timeline)]
    dates = {_local(entry.at, zone).date() for entry in timeline}
    dates |= {_local(e.starts_at, zone).date() for e in episodes}
    dates |= {_local(s.change.started_at, zone).date() for s in suspects}
    one_day = len(dates) == 1

    def clock(moment: datetime) -> str:
        local = _local(moment, zone)
        return local.strftime("%H:%M:%S") if one_day else local.strftime("%m-%d %H:%M:%S")

    ended_episode = max(
        (e for e in episodes if e.ends_at is not None),
        key=lambda e: e.ends_at or incident.started_at,
        default=None,
    )
    exact = (end - start) if end is not None else timedelta(0)
    # an incident opened by hand has no alerts: its own labels say how it was rated
    reason = highest_priority(
        (
            priority_of(labels, options.rules)
            for labels in ([e.labels for e in episodes] or [incident.common_labels])
        ),
        options.rules,
    )
    labels_of = _label_values(episodes)
    rows, missing = _timeline_rows(timeline, clock)
    all_resolved = [e for e in data.timeline if e.kind is EntryKind.ALL_RESOLVED]
    recovered_at = end  # all alerts resolved, or a person ended an alert-less incident
    actions = [e for e in timeline if e.kind.value in HANDLING_KINDS]
    suggested = suggest(timeline)
    targets = options.targets
    last_action = _last_action(actions, recovered_at)
    large = len(episodes) > options.large_after
    # a large incident's draft lists only its first alerts: format no more than those
    listed = episodes[: max(FOLD_AFTER, options.large_after)] if large else episodes
    gone = {e.dedup_key for e in data.timeline if e.kind is EntryKind.ALERT_GONE}
    chain = [
        AlertLine(
            e.labels.get("alertname", ""),
            e.subject,
            clock(e.starts_at),
            clock(e.ends_at) if e.ends_at else "",
            e.fingerprint,
            reconciled=resolved_key(e) in gone,
        )
        for e in listed
    ]
    shown = FOLD_AFTER if large else len(chain)
    descriptions = _descriptions(episodes)
    values = [
        ValuesLine(e.labels.get("alertname", ""), e.subject, e.annotations[grafana.VALUES])
        for e in episodes
        if e.annotations.get(grafana.VALUES)
    ]
    history = data.history
    mtbf = (start - history.previous_end) if history.previous_end else None
    review_url = (
        f"{options.public_url.rstrip('/')}/incidents/{incident.id}" if options.public_url else ""
    )
    offset = _local(start, zone).utcoffset() or timedelta(0)
    chosen = candidates(suspects)
    ranked = {(s.change.source, s.change.source_id): n for n, s in enumerate(chosen, 1)}
    return DraftView(
        evidence=data.evidence,
        incident_id=incident.id,
        revision=data.revision,
        title=incident.title,
        priority=incident.priority,
        priority_reason=reason,
        severity_map=options.rules.severity_map,
        severity_map_is_default=dict(options.rules.severity_map) == DEFAULT_SEVERITY_MAP,
        timezone=str(zone.key),
        utc_offset=_format_offset(offset),
        generated_at=_local(data.created_at, zone).strftime("%Y-%m-%d %H:%M:%S"),
        updated_at=_local(data.now, zone).strftime("%H:%M:%S")
        if _local(data.now, zone).date() == _local(data.created_at, zone).date()
        else _local(data.now, zone).strftime("%Y-%m-%d %H:%M:%S"),
        review_url=review_url,
        started=_local(start, zone).strftime("%Y-%m-%d %H:%M:%S"),
        ended=_local(end, zone).strftime("%Y-%m-%d %H:%M:%S") if end else "",
        started_clock=clock(start),
        ended_clock=clock(end) if end else "",
        duration_minutes=round(exact.total_seconds() / 60),
        duration_exact=exact,
        started_subject=episodes[0].subject if episodes else "",
        ended_subject=ended_episode.subject if ended_episode else "",
        end_source=end_source,
        services=labels_of("service") or ([incident.service] if incident.service else []),
        namespaces=labels_of("namespace"),
        jobs=labels_of("job"),
        instances=sorted({e.subject for e in episodes if e.subject}, key=natural_key),
        alert_counts=Counter(e.labels.get("alertname", "") for e in episodes).most_common(),
        instance_counts=Counter(e.subject for e in episodes).most_common(20),
        alert_total=len(episodes),
        participants=list(suggested.participants),
        date_note=_local(start, zone).strftime("%Y-%m-%d") if one_day else "",
        rows=rows,
        missing_steps=missing,
        time_to_recover=(end - start) if all_resolved and end is not None else None,
        chain=chain[:shown],
        chain_more=len(episodes) - shown,
        alerts=chain[: options.large_after] if large else chain,
        alerts_more=max(0, len(episodes) - options.large_after),
        large=large,
        common_labels=sorted(
            (name, value)
            for name, value in incident.common_labels.items()
            if name not in ("alertname", "instance")
        ),
        receiver=incident.receiver,
        group_key=incident.group_key,
        descriptions=descriptions[0],
        descriptions_same=descriptions[1],
        expressions=_distinct_of(_expression, (e.generator_url for e in episodes)),
        generator_urls=_distinct_of(md_url, (e.generator_url for e in episodes))[:5],
        runbooks=_distinct_of(md_url, (e.annotations.get("runbook_url", "") for e in episodes))[:5],
        dashboards=_distinct_of(
            md_url,
            (e.annotations.get(name, "") for e in episodes for name in _DASHBOARD_ANNOTATIONS),
        )[:5],
        panels=_links(episodes, grafana.PANEL_URL),
        images=_links(episodes, grafana.IMAGE_URL),
        firing_values=values[:FOLD_AFTER],
        firing_values_more=max(0, len(values) - FOLD_AFTER),
        sender=_sender(incident),
        alertmanager_url=_alertmanager_link(incident, options.alertmanager_url),
        mttr_met=(exact < targets.mttr) if end else None,
        mtbf=mtbf,
        mtbf_met=(mtbf > targets.mtbf) if mtbf is not None else None,
        previous_end=_local(history.previous_end, zone).strftime("%Y-%m-%d %H:%M")
        if history.previous_end
        else "",
        month_count=history.service_incidents_in_month,
        quarter_p0_p1=history.service_p0_p1_in_quarter,
        service_name=incident.service,
        last_updated_date=_local(data.now, zone).strftime("%Y-%m-%d"),
        partial_view=any(e.kind is EntryKind.PARTIAL_VIEW for e in data.timeline),
        first_ack=suggested.owner,
        intervals=_intervals(timeline, start, recovered_at),
        handled_to_recovered=(recovered_at - last_action.at)
        if last_action is not None and recovered_at is not None and recovered_at >= last_action.at
        else None,
        last_action=_row(last_action, clock) if last_action else None,
        actions={
            kind: [_row(e, clock) for e in _sorted(actions) if e.kind.value == kind]
            for kind in HANDLING_KINDS
        },
        h=data.human,
        suggested=suggested,
        root_causes=[
            _row(e, clock) for e in _sorted(data.timeline) if e.kind is EntryKind.ROOT_CAUSE
        ],
        targets=targets,
        links=options.links,
        status=incident.status.value,
        approved_by=incident.approved_by or "",
        approved_at=_local(incident.approved_at, zone).strftime("%Y-%m-%d %H:%M")
        if incident.approved_at
        else "",
        completeness=completeness(data.human),
        approval_override=incident.approval_override or "",
        changes=[
            _change_line(s, clock, zone, ranked.get((s.change.source, s.change.source_id), 0))
            for s in sorted(suspects, key=lambda s: s.change.started_at)
        ],
        change_candidates=[_change_line(s, clock, zone, n) for n, s in enumerate(chosen, 1)],
        change_window=options.ranking.window,
        change_fields=_distinct(
            [
                *options.ranking.label_map.values(),
                *(["related"] if options.ranking.related_labels else []),
            ]
        ),
        similar=_similar(data, zone),
        slos=slo_lines(data.slos, clock, start),
        slo_names=data.slo_names,
        policy=policy_line(data.verdict, options.triggers),
    )


def _change_line(
    suspect: Suspect, clock: Callable[[datetime], str], zone: ZoneInfo, candidate: int
) -> ChangeLine:
    change, verdict = suspect.change, suspect.verdict
    return ChangeLine(
        time=clock(change.started_at),
        source=change.source.value,
        type=change.type.value,
        service=change.service,
        summary=change.summary,
        from_version=change.from_version or "",
        to_version=change.to_version or "",
        actor=change.actor or "",
        link=md_url(change.link or ""),
        shared=suspect.shared,
        gap=abs(suspect.offset),
        before_first_alert=suspect.before_first_alert,
        candidate=candidate,
        verdict=verdict.verdict.value if verdict else "",
        verdict_by=verdict.actor if verdict else "",
        verdict_at=_local(verdict.at, zone).strftime("%Y-%m-%d %H:%M") if verdict else "",
    )


def _similar(data: DraftInput, zone: ZoneInfo) -> SimilarView | None:
    found = data.similar
    if not found.linked:
        return None
    today = _local(data.now, zone).date()
    return SimilarView(
        incidents=[
            SimilarLine(
                incident_id=m.past.id,
                title=data.similar_titles.get(m.past.id, ""),
                started=_local(m.past.started_at, zone).strftime("%Y-%m-%d %H:%M"),
                status=m.past.status,
                reason=m.reason.value,
                open_actions=m.past.open_actions,
            )
            for m in found.linked
        ],
        mtbf=found.mtbf,
        open_items=[
            OpenItemLine(
                incident_id=item.incident_id,
                text=item.text,
                owner=item.owner,
                due=item.due.isoformat() if item.due else "",
                overdue=is_overdue(item.due, item.status, today),
            )
            for item in found.open_items
        ],
    )


def _sorted(entries: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    return sorted(entries, key=lambda e: e.at)


def _row(entry: TimelineEntry, clock: Callable[[datetime], str]) -> Row:
    note = entry.note
    if entry.kind is EntryKind.ALL_RESOLVED and note:
        note = clock(datetime.fromisoformat(note))  # when the resolve reached us
    return Row(
        clock(entry.at),
        entry.kind.value,
        entry.actor,
        entry.subject,
        note,
        detail=entry.detail,
        source=entry.source.value,
    )


def _last_action(
    actions: Sequence[TimelineEntry], recovered_at: datetime | None
) -> TimelineEntry | None:
    """The last thing people did before all alerts resolved: the likely fix, where the
    first action is often only a first try. Before recovery, simply the latest one."""
    before = [e for e in actions if recovered_at is None or e.at <= recovered_at]
    return max(before or actions, key=lambda e: e.at, default=None)


def _intervals(
    entries: Sequence[TimelineEntry], start: datetime, recovered_at: datetime | None
) -> list[Interval]:
    """From the first alert to the first ack, assembly and each kind of action, in the
    order they happened; an action also says how long before recovery it came."""
    found: list[Interval] = []
    for kind in ("ack", "assemble", *HANDLING_KINDS):
        first = min((e for e in entries if e.kind.value == kind), key=lambda e: e.at, default=None)
        if first is None or first.at < start:
            continue
        to_recovery = (
            recovered_at - first.at
            if kind in HANDLING_KINDS and recovered_at is not None and recovered_at >= first.at
            else None
        )
        found.append(Interval(kind, first.at - start, to_recovery))
    return sorted(found, key=lambda item: item.span)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return in_zone(moment, zone)


def _format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def _label_values(episodes: Sequence[Episode]) -> Callable[[str], list[str]]:
    def values(name: str) -> list[str]:
        return sorted({e.labels[name] for e in episodes if e.labels.get(name)}, key=natural_key)

    return values


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


def _distinct_of(convert: Callable[[str], str], values: Iterable[str]) -> list[str]:
    """_distinct(map(convert, values)), converting each distinct value once: the alerts
    of one rule share their URLs, and a large incident has thousands of them."""
    return _distinct(map(convert, _distinct(values)))


def _links(episodes: Sequence[Episode], annotation: str) -> list[str]:
    """The first five distinct links the alerts carry in this annotation."""
    return _distinct_of(md_url, (e.annotations.get(annotation, "") for e in episodes))[:5]


def _timeline_rows(
    entries: Sequence[TimelineEntry], clock: Callable[[datetime], str]
) -> tuple[dict[str, list[Row]], dict[str, list[str]]]:
    rows: dict[str, list[Row]] = {phase.value: [] for phase in Phase}
    covered: set[str] = set()
    folded: dict[tuple[str, str], list[TimelineEntry]] = {}
    gone: dict[datetime, tuple[int, list[str]]] = {}  # pass time: its row, its subjects
    for entry in in_display_order(entries):
        covered.add(STEP_OF_KIND.get(entry.kind.value, entry.kind.value))
        phase_rows = rows[entry.phase.value]
        if entry.kind is EntryKind.ALERT_GONE:
            # one fact: reconciliation found these alerts gone in one pass, one row says so
            index, subjects = gone.setdefault(entry.at, (len(phase_rows), []))
            subjects.append(entry.subject)
            if len(subjects) == 1:
                phase_rows.append(_row(entry, clock))
            phase_rows[index] = replace(
                phase_rows[index], subjects=tuple(subjects), count=len(subjects)
            )
            continue
        if entry.kind in (EntryKind.ALERT_FIRED, EntryKind.ALERT_RESOLVED):
            same = folded.setdefault((entry.phase.value, entry.kind.value), [])
            same.append(entry)
            if len(same) > FOLD_AFTER:
                continue
        rows[entry.phase.value].append(_row(entry, clock))
    for (phase, kind), same in folded.items():
        if len(same) > FOLD_AFTER:
            rest = same[FOLD_AFTER:]
            more = Row(
                clock(rest[0].at),
                f"more_{kind.removeprefix('alert_')}",
                None,
                f"{clock(rest[0].at)}–{clock(rest[-1].at)}",
                count=len(rest),
            )
            rows[phase].append(more)
            rows[phase].sort(key=lambda row: row.time)
    missing = {
        phase.value: [step for step in steps if step not in covered]
        for phase, steps in TEMPLATE_STEPS.items()
    }
    return rows, missing


def _descriptions(episodes: Sequence[Episode]) -> tuple[list[str], bool]:
    """Distinct descriptions, and whether several alerts share one, up to their subject."""
    texts = [e.annotations.get("description", "") for e in episodes]
    distinct = _distinct(texts)
    if len(episodes) < 2 or not all(texts):
        return distinct[:5], False
    if len(distinct) == 1:
        return distinct, True
    generic = {
        text.replace(e.subject, "\x00") if e.subject else text
        for text, e in zip(texts, episodes, strict=True)
    }
    if len(generic) == 1:
        return distinct[:1], True
    return distinct[:5], False


def _expression(generator_url: str) -> str:
    query = urllib.parse.urlsplit(generator_url).query
    values = urllib.parse.parse_qs(query).get("g0.expr", [])
    return values[0] if values else ""


def _sender(incident: Incident) -> str:
    """Who sent the incident's notifications, as the draft names it."""
    return "Grafana" if grafana.grafana_root(incident.external_url) is not None else "Alertmanager"


def _alertmanager_link(incident: Incident, configured: str | None) -> str:
    grafana_root = grafana.grafana_root(incident.external_url)
    if grafana_root is not None:  # Grafana's own page of its alert groups
        root = md_url(grafana_root)
        return f"{root}/alerting/groups" if root else ""
    # the configured address is the one people can open; externalURL may be a pod name
    base = md_url(configured or incident.external_url)
    if not base:
        return ""
    matchers = ",".join(
        f'{name}="{value}"' for name, value in sorted(incident.group_labels.items())
    )
    query = urllib.parse.urlencode(
        {"receiver": incident.receiver, "filter": f"{{{matchers}}}"}, quote_via=urllib.parse.quote
    )
    return f"{base.rstrip('/')}/#/alerts?{query}"
