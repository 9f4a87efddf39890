"""Prometheus metrics, on a registry of the app's own (tests build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

PREFIX = "postmortem_receiver"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.webhooks = Counter(
            f"{PREFIX}_webhooks_received_total",
            "Alertmanager webhooks received, by result (accepted, duplicate, rejected, "
            "store_error) and rejection reason.",
            ["result", "reason"],
            registry=self.registry,
        )
        self.webhook_seconds = Histogram(
            f"{PREFIX}_webhook_duration_seconds",
            "Time to handle one Alertmanager webhook, from body read to answer.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.incidents_opened = Counter(
            f"{PREFIX}_incidents_opened_total",
            "Incidents opened, by priority.",
            ["priority"],
            registry=self.registry,
        )
        self.incidents_recovered = Counter(
            f"{PREFIX}_incidents_recovered_total",
            "Incidents whose alerts all resolved, by priority.",
            ["priority"],
            registry=self.registry,
        )
        self.manual_events = Counter(
            f"{PREFIX}_manual_events_total",
            "Manual events recorded (alert-webhook.sh or POST /api/v1/events), by type.",
            ["type"],
            registry=self.registry,
        )
        self.reconcile_runs = Counter(
            f"{PREFIX}_reconcile_runs_total",
            "Passes asking Alertmanager about open incidents, by result (ok, unreachable).",
            ["result"],
            registry=self.registry,
        )
        self.open_incidents = Gauge(
            f"{PREFIX}_open_incidents",
            "Incidents not yet recovered, by status (firing, stale), as of the last pass.",
            ["status"],
            registry=self.registry,
        )
        self.drafts_rendered = Counter(
            f"{PREFIX}_drafts_rendered_total",
            "Draft postmortem revisions rendered and stored.",
            registry=self.registry,
        )
