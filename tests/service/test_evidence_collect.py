"""Collecting evidence when Prometheus cannot answer, and how a record is stored, shown,
and read for the end."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from receiver.alertmanager.webhook import Webhook
from receiver.config import ConfigError, Settings, load_settings
from receiver.domain.ending import ChartBreaches, MetricEvidence
from receiver.domain.incident import Episode, Incident, IncidentStatus
from receiver.evidence.collect import collect, expressions, prometheus_for, window_of
from receiver.evidence.record import (
    PARTIAL,
    Breach,
    BusinessFigure,
    ChartEvidence,
    EvidenceRecord,
    StoredEvidence,
)
from receiver.evidence.recovery import metric_evidence
from receiver.evidence.view import chart_file, evidence_view
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.usecases.service import IncidentService
from tests.conftest import Clock, capture_text, hook
from tests.processes import free_port

START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def incident() -> Incident:
    return Incident(
        key="k",
        receiver="r",
        group_key="g",
        group_labels={},
        common_labels={},
        common_annotations={},
        external_url="",
        title="HighErrorRate",
        priority="P1",
        status=IncidentStatus.DRAFTED,
        opened_at=START,
        started_at=START,
        ended_at=START + timedelta(minutes=20),
        updated_at=START,
        service="checkout",
        id=3,
    )


def episodes() -> list[Episode]:
    webhook = hook("firing_group_3")
    return [
        Episode(
            fingerprint=a.fingerprint,
            starts_at=a.starts_at,
            ends_at=None,
            resolved=False,
            labels=a.labels,
            annotations=a.annotations,
            generator_url=a.generator_url,
            cycle=1,
            first_seen_at=START,
        )
        for a in webhook.alerts
    ]


def test_one_chart_per_distinct_expression_and_where_to_ask(
    make_settings: Callable[..., Settings],
) -> None:
    found = expressions(episodes(), limit=5)
    assert len(found) == 1  # three instances, one rule
    expr, url = found[0]
    assert expr.endswith("> 1")
    assert prometheus_for(make_settings(), url) is None  # off by default: no stray traffic
    allowed = make_settings(evidence_from_generator_url=True)
    assert prometheus_for(allowed, url) == "http://127.0.0.1:9090"
    configured = make_settings(prometheus_url="http://prom:9090")
    assert prometheus_for(configured, url) == "http://prom:9090"
    now = START + timedelta(minutes=25)
    assert window_of(incident(), configured, now) == (START - timedelta(minutes=30), now)


async def test_prometheus_down_gives_reasons_not_errors(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        prometheus_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        evidence_timeout="2s",
        business_queries={"checkout": {"error_rate": "sum(rate(errors[5m]))"}},
    )
    async with aiohttp.ClientSession() as session:
        record = await collect(
            session, settings, incident(), episodes(), START + timedelta(hours=1)
        )
    assert not record.complete
    [chart] = record.charts
    assert chart.reason
    assert chart.svg is None
    assert chart.threshold == "> 1"
    [figure] = record.business
    assert figure.name == "error_rate"
    assert figure.reason
    assert figure.met is None
    assert EvidenceRecord.from_json(record.to_json()) == record

    view = evidence_view(
        StoredEvidence(3, PARTIAL, record, 1), "2026-11-26-3-x.md", ZoneInfo("UTC")
    )
    assert view is not None
    assert view.charts[0].file is None
    assert view.charts[0].reason == chart.reason
    assert view.business["error_rate"].reason == figure.reason


def test_a_stored_record_is_shown_with_its_files_and_targets() -> None:
    record = EvidenceRecord(
        fetched_at=START,
        window_start=START - timedelta(minutes=30),
        window_end=START + timedelta(minutes=35),
        source="http://prom:9090",
        charts=[
            ChartEvidence(
                "x > 0.05",
                "x",
                "> 0.05",
                svg="<svg/>",
                series=12,
                truncated=2,
                peak=0.125,
                peak_at=START + timedelta(minutes=3),
                peak_labels='x{pod="a|b"}',
                breach_seconds=750,
                first_crossing=START,
                last_crossing=START + timedelta(minutes=13),
            )
        ],
        business=[
            BusinessFigure("availability", "avail", worst=0.9952, average=0.998),
            BusinessFigure("latency_p95", "p95", worst=0.21, average=0.15),
        ],
    )
    view = evidence_view(
        StoredEvidence(3, "complete", record, 1), "d.md", ZoneInfo("Asia/Shanghai")
    )
    assert view is not None
    [line] = view.charts
    assert line.file == chart_file("d.md", 1) == "d-evidence-1.svg"
    assert (line.peak, line.peak_at, line.breach_minutes) == (
        "0.125",
        "2026-11-26 16:03:00",
        "12.5",
    )
    assert view.business["availability"].value == "99.52%"
    assert view.business["availability"].met is False  # target > 99.9 %
    assert view.business["latency_p95"].value == "210ms"
    assert view.business["latency_p95"].met is True  # target P95 < 300 ms


def test_business_queries_only_for_the_templates_figures() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(business_queries={"checkout": {"apdex": "x"}})
    assert "RECEIVER_BUSINESS_QUERIES" in str(error.value)


async def test_one_replica_fetches_a_due_incident(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(prometheus_url="http://127.0.0.1:9")
    replicas = [open_configured_database(settings) for _ in range(2)]
    try:
        await replicas[0].migrate()
        clock = Clock(START)
        services = [IncidentService(db, settings, DraftRenderer(), clock=clock) for db in replicas]
        firing, resolved = capture_text("firing_single"), capture_text("resolved_single")
        for body in (firing, resolved):
            result = await services[0].ingest_webhook(Webhook.parse(json.loads(body)), body)
        assert result.recovered
        assert await services[1].evidence.due() == [result.incident_id]
        claims = [await service.evidence.claim(result.incident_id) for service in services]
        assert claims == [True, False]
        assert await services[1].evidence.due() == []  # leased, until it saves or expires
        clock.now += timedelta(minutes=6)
        assert await services[1].evidence.claim(result.incident_id)  # the lease ran out
    finally:
        for database in replicas:
            await database.close()


def test_only_evidence_covering_every_alert_can_tell_when_the_metric_was_back() -> None:
    alerts = episodes()
    [(expr, _)] = expressions(alerts, limit=5)
    back = [[Breach(START, START + timedelta(minutes=5))]]
    good = ChartEvidence(expr, "q", "> 1", svg="<svg/>", series=3, breaches=back)

    def seen(*charts: ChartEvidence) -> MetricEvidence | None:
        record = EvidenceRecord(START, START, START + timedelta(hours=1), "p", list(charts))
        return metric_evidence(StoredEvidence(3, "complete", record, 1), alerts)

    found = seen(good)
    assert found is not None
    assert found.charts == (ChartBreaches(1, "q", (((START, START + timedelta(minutes=5)),),)),)
    assert EvidenceRecord.from_json(
        EvidenceRecord(START, START, START, "p", [good]).to_json()
    ) == EvidenceRecord(START, START, START, "p", [good])
    assert seen() is None  # the alerts' expression not charted
    assert seen(replace(good, reason="timeout", svg=None)) is None
    assert seen(replace(good, truncated=2)) is None  # series nobody looked at
    assert seen(replace(good, threshold=None)) is None
    no_url = [replace(alerts[0], generator_url=""), *alerts[1:]]
    record = EvidenceRecord(START, START, START, "p", [good])
    assert metric_evidence(StoredEvidence(3, "complete", record, 1), no_url) is None
    assert metric_evidence(None, alerts) is None
