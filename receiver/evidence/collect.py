"""Ask Prometheus what an incident looked like: a chart and figures per alert expression,
and the service's business figures. Every failure becomes a reason, never an exception."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp

from receiver.config import Settings
from receiver.domain.incident import Episode, Incident
from receiver.domain.moments import shifted
from receiver.domain.slo import Point
from receiver.evidence.prometheus import EvidenceUnavailable, QueryResult, query_range, redacted
from receiver.evidence.promql import Threshold, expression_from_generator_url, split_comparison
from receiver.evidence.record import (
    Breach,
    BusinessFigure,
    ChartEvidence,
    EvidenceRecord,
    SloFigure,
)
from receiver.evidence.series import Series
from receiver.evidence.slo import Ask, measure, sli_chart_name
from receiver.evidence.summary import breaches, infer_step, summarize

# the business figures' worst value: the lowest availability, the highest of the others
_WORST_IS_LOWEST = {"availability"}
# the series an SLO's counter query may answer with: each is read for its own resets
_SLO_SERIES = 2000


def evidence_wanted(settings: Settings) -> bool:
    return settings.prometheus_url is not None or settings.evidence_from_generator_url


def prometheus_for(settings: Settings, generator_url: str) -> str | None:
    """The configured Prometheus, or (when allowed) the one that generated the alert."""
    if settings.prometheus_url is not None:
        return settings.prometheus_url
    if not settings.evidence_from_generator_url:
        return None
    parts = urlsplit(generator_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def expressions(episodes: Sequence[Episode], limit: int) -> list[tuple[str, str]]:
    """(expression, generatorURL) of each distinct alert expression, first seen first."""
    found: dict[str, str] = {}
    for episode in episodes:
        expr = expression_from_generator_url(episode.generator_url)
        if expr and expr not in found:
            found[expr] = episode.generator_url
    return list(found.items())[:limit]


def window_of(incident: Incident, settings: Settings, now: datetime) -> tuple[datetime, datetime]:
    """The incident plus margins, never past now: Prometheus has no future samples."""
    end = incident.ended_at or now
    return (
        shifted(incident.started_at, -settings.evidence_before),
        min(shifted(end, settings.evidence_after), now),
    )


async def collect(
    session: aiohttp.ClientSession,
    settings: Settings,
    incident: Incident,
    episodes: Sequence[Episode],
    now: datetime,
    *,
    not_before: datetime | None = None,
) -> EvidenceRecord:
    """`not_before`: when the service's previous incident ended; the SLI's breaches
    before then were that one's impact, not this one's."""
    start, end = window_of(incident, settings, now)
    incident_window = (incident.started_at, incident.ended_at or now)
    charts = [
        await _chart(
            session, settings, expr, prometheus_for(settings, url), (start, end), incident_window
        )
        for expr, url in expressions(episodes, settings.evidence_max_expressions)
    ]
    business: list[BusinessFigure] = []
    base = settings.prometheus_url
    for name, query in settings.business_queries.get(incident.service, {}).items():
        business.append(await _business(session, settings, name, query, base, incident_window))
    measured = [
        await measure(
            _asker(session, settings, base), slo, (start, end), incident_window, not_before
        )
        for slo in settings.slos.get(incident.service, [])
    ]
    slos = [figure for figure, _ in measured]
    # each SLI drawn as the alerts' expressions are, after them, its objective the line
    charts += [
        await _sli_chart(settings, figure, ratios, incident_window)
        for figure, ratios in measured
        if ratios
    ]
    source = settings.prometheus_url or ", ".join(
        sorted({prometheus_for(settings, url) or "" for _, url in expressions(episodes, 20)})
    )
    return EvidenceRecord(now, start, end, redacted(source), charts, business, slos)


def _asker(session: aiohttp.ClientSession, settings: Settings, base: str | None) -> Ask:
    """Range queries for the SLOs' counters: every series counts, so a cut answer is a
    failure, not a smaller figure."""

    async def ask(query: str, start: datetime, end: datetime) -> QueryResult:
        result = await _query(session, settings, base, query, (start, end), max_series=_SLO_SERIES)
        if result.truncated_series:
            raise EvidenceUnavailable(
                f"more than {_SLO_SERIES} series: aggregate the query (e.g. sum by (code))"
            )
        return result

    return ask


async def _query(
    session: aiohttp.ClientSession,
    settings: Settings,
    base: str | None,
    query: str,
    window: tuple[datetime, datetime],
    max_series: int = 200,
) -> QueryResult:
    if base is None:
        raise EvidenceUnavailable("no Prometheus to ask (set RECEIVER_PROMETHEUS_URL)")
    if window[1] <= window[0]:
        raise EvidenceUnavailable("the incident window is empty")
    token = settings.prometheus_token
    return await query_range(
        session,
        base,
        query,
        window[0],
        window[1],
        timeout=settings.evidence_timeout.total_seconds(),
        max_points=2000,  # a step of seconds over an hour: short spikes stay visible
        max_series=max_series,
        bearer_token=token.get_secret_value() if token else None,
    )


async def _chart(
    session: aiohttp.ClientSession,
    settings: Settings,
    expr: str,
    base: str | None,
    window: tuple[datetime, datetime],
    incident_window: tuple[datetime, datetime],
) -> ChartEvidence:
    query, threshold = split_comparison(expr)
    shown_threshold = str(threshold) if threshold else None
    try:
        result = await _query(session, settings, base, query, window)
    except EvidenceUnavailable as exc:
        return ChartEvidence(expr, query, shown_threshold, reason=exc.reason)
    if not result.series:
        return ChartEvidence(
            expr, query, shown_threshold, reason="Prometheus has no samples in the window"
        )
    return await _drawn(settings, expr, query, threshold, result, incident_window)


async def _sli_chart(
    settings: Settings,
    figure: SloFigure,
    ratios: list[Point],
    incident_window: tuple[datetime, datetime],
) -> ChartEvidence:
    """An SLO's error ratio per step, against what its objective allows."""
    name = sli_chart_name(figure.name)
    series = [Series({"slo": figure.name}, ratios)]
    result = QueryResult(series, infer_step(series))
    threshold = Threshold(">", round(1.0 - figure.objective, 12))
    return await _drawn(settings, name, name, threshold, result, incident_window)


async def _drawn(
    settings: Settings,
    expr: str,
    query: str,
    threshold: Threshold | None,
    result: QueryResult,
    incident_window: tuple[datetime, datetime],
) -> ChartEvidence:
    """The chart of what a query answered, and its figures."""
    shown_threshold = str(threshold) if threshold else None
    summary = summarize(result.series, threshold, incident_window, step=result.step)
    # imported on first use: matplotlib takes a second to load and writes a font cache,
    # which a receiver without Prometheus (or `check-config`) never needs
    from receiver.evidence.chart import render_chart

    # matplotlib is CPU work: off the event loop
    svg = await asyncio.to_thread(
        render_chart,
        result.series,
        window=incident_window,
        threshold=threshold,
        title=query,
        zone=ZoneInfo(settings.timezone),
        truncated=result.truncated_series,
        max_series=settings.evidence_max_series,
    )
    overall = summary.overall
    breach = overall.breach_time_in_window
    return ChartEvidence(
        expr,
        query,
        shown_threshold,
        svg=svg,
        series=len(result.series) + result.truncated_series,
        truncated=result.truncated_series,
        peak=_finite(overall.peak),
        peak_at=overall.peak_at,
        peak_labels=summary.peak_series.label_text() if summary.peak_series else "",
        breach_seconds=None if breach is None else breach.total_seconds(),
        first_crossing=overall.first_crossing,
        last_crossing=overall.last_crossing,
        breaches=[
            [Breach(start, back) for start, back in found]
            for one in result.series
            if threshold is not None and (found := breaches(one, threshold))
        ],
    )


async def _business(
    session: aiohttp.ClientSession,
    settings: Settings,
    name: str,
    query: str,
    base: str | None,
    window: tuple[datetime, datetime],
) -> BusinessFigure:
    try:
        result = await _query(session, settings, base, query, window)
    except EvidenceUnavailable as exc:
        return BusinessFigure(name, query, reason=exc.reason)
    values = [
        value
        for series in result.series
        for moment, value in series.points
        if window[0] <= moment <= window[1] and math.isfinite(value)
    ]
    if not values:
        return BusinessFigure(name, query, reason="Prometheus has no samples in the window")
    worst = min(values) if name in _WORST_IS_LOWEST else max(values)
    return BusinessFigure(name, query, worst=worst, average=sum(values) / len(values))


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def next_attempt(attempts: int) -> timedelta:
    """Prometheus was down or slow: 30 s, 1 min, 2 min … up to 30 min between tries."""
    return min(timedelta(seconds=30) * (1 << min(attempts, 10)), timedelta(minutes=30))
