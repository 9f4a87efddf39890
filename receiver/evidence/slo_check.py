"""Whether the SLOs' queries are PromQL (at start) and whether Prometheus accepts them
(`check-config`, when it is reachable). Problems are named as the config file has them:
`slos.checkout[0].good`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp

from receiver.config import ConfigProblem, Settings
from receiver.evidence.prometheus import EvidenceUnavailable, query_range
from receiver.evidence.promql import PromQLSyntaxError, is_selector, tokenize

_FIELDS = ("good", "bad", "total", "error_ratio", "users")
_COUNTERS = ("good", "bad", "total")
# what a check asks for: the last few minutes, enough for Prometheus to parse and run it
_RECENT = timedelta(minutes=5)


def slo_queries(settings: Settings) -> Iterator[tuple[str, str]]:
    """(name in the config file, query) of every SLO query."""
    for service, slos in settings.slos.items():
        for index, slo in enumerate(slos):
            for field in _FIELDS:
                query = getattr(slo, field)
                if query is not None:
                    yield f"slos.{service}[{index}].{field}", query


def _problem(name: str, detail: str, config_file: Path | None) -> ConfigProblem:
    """Named where it was set: the config file, or RECEIVER_SLOS (JSON)."""
    if config_file is not None and "RECEIVER_SLOS" not in os.environ:
        return ConfigProblem(name, "file", "value_error", detail, file=str(config_file))
    return ConfigProblem(
        "RECEIVER_SLOS" + name.removeprefix("slos"), "environment", "value_error", detail
    )


def query_problems(settings: Settings, config_file: Path | None = None) -> list[ConfigProblem]:
    """The queries this receiver cannot even read as PromQL, and event counters that are
    not plain selectors (their growth is read per series, resets and all)."""
    problems: list[ConfigProblem] = []
    for name, query in slo_queries(settings):
        try:
            tokenize(query)
        except PromQLSyntaxError as exc:
            problems.append(_problem(name, f"not PromQL: {exc}", config_file))
            continue
        if name.rpartition(".")[2] in _COUNTERS and not is_selector(query):
            detail = (
                "an event counter as it is, a selector such as "
                'http_requests_total{job="checkout"} (no rate, no sum)'
            )
            problems.append(_problem(name, detail, config_file))
    return problems


async def prometheus_problems(
    session: aiohttp.ClientSession,
    settings: Settings,
    now: datetime,
    config_file: Path | None = None,
) -> tuple[list[ConfigProblem], str | None]:
    """The queries Prometheus refuses, and why none could be checked (it did not answer)."""
    base = settings.prometheus_url
    if base is None or not settings.slos:
        return [], None
    token = settings.prometheus_token
    problems: list[ConfigProblem] = []
    for name, query in slo_queries(settings):
        try:
            await query_range(
                session,
                base,
                query,
                now - _RECENT,
                now,
                timeout=settings.evidence_timeout.total_seconds(),
                max_points=11,
                bearer_token=token.get_secret_value() if token else None,
            )
        except EvidenceUnavailable as exc:
            if not exc.reason.startswith("query error"):
                return problems, exc.reason  # down, slow or not Prometheus: say so once
            problems.append(_problem(name, exc.reason, config_file))
    return problems, None
