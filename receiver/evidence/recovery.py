"""Stored evidence → what the domain needs to tell when the metric was back (pure).

Only evidence that covers every alert of the incident is passed on: each alert's
expression charted, answered, with its threshold and all its series. Anything less
cannot show that the alerts' metric as a whole was back.
"""

from __future__ import annotations

from collections.abc import Sequence

from receiver.domain.ending import ChartBreaches, MetricEvidence
from receiver.domain.incident import Episode
from receiver.evidence.promql import expression_from_generator_url
from receiver.evidence.record import StoredEvidence


def metric_evidence(
    stored: StoredEvidence | None, episodes: Sequence[Episode]
) -> MetricEvidence | None:
    record = stored.record if stored is not None else None
    if record is None or not episodes:
        return None
    wanted = {expression_from_generator_url(e.generator_url) for e in episodes}
    charted = {chart.expr: (number, chart) for number, chart in enumerate(record.charts, 1)}
    if None in wanted or not wanted <= charted.keys():
        return None  # an alert without an expression, or beyond the charts' limit
    charts: list[ChartBreaches] = []
    for expr in sorted(e for e in wanted if e is not None):
        number, chart = charted[expr]
        if not chart.ok or chart.threshold is None or chart.truncated:
            return None
        series = tuple(tuple((b.start, b.back) for b in one) for one in chart.breaches)
        charts.append(ChartBreaches(number, chart.query, series))
    return MetricEvidence(record.window_end, tuple(charts))
