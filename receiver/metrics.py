"""Prometheus metrics, on a registry of the app's own (tests build many apps).

Names follow Prometheus conventions: the `postmortem_receiver_` prefix, seconds, `_total`
for counters. `severity` labels carry the incident's level, P0–P3.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

PREFIX = "postmortem_receiver"
# incident durations and times to acknowledge: a minute to a day, MTTR target 1 hour
_INCIDENT_BUCKETS = (60, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)


class Metrics:
    def __init__(self) -> None:
        # *_created series would double the series count for a value nobody alerts on
        disable_created_metrics()  # type: ignore[no-untyped-call]
        registry = self.registry = CollectorRegistry(auto_describe=True)
        self.webhooks = Counter(
            f"{PREFIX}_webhooks_received_total",
            "Alertmanager webhooks received, by result (accepted, duplicate, rejected, "
            "store_error) and, for rejected ones, the reason.",
            ["result", "reason"],
            registry=registry,
        )
        # bound once: labels() takes a lock and looks the child up on every call, and
        # this one counts every accepted webhook
        self.webhooks_accepted = self.webhooks.labels(result="accepted", reason="")
        self.webhook_seconds = Histogram(
            f"{PREFIX}_webhook_duration_seconds",
            "Time to handle one Alertmanager webhook, from body read to answer.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        self.incidents_opened = Counter(
            f"{PREFIX}_incidents_opened_total",
            "Incidents opened, by severity (P0–P3).",
            ["severity"],
            registry=registry,
        )
        self.incidents_recovered = Counter(
            f"{PREFIX}_incidents_recovered_total",
            "Incidents whose alerts all resolved (or that a person ended), by severity.",
            ["severity"],
            registry=registry,
        )
        self.open_incidents = Gauge(
            f"{PREFIX}_open_incidents",
            "Incidents not yet approved, by severity and status (firing, stale, recovered, "
            "drafted, in_review), read from the store at each scrape.",
            ["severity", "status"],
            registry=registry,
        )
        self.incident_duration = Histogram(
            f"{PREFIX}_incident_duration_seconds",
            "From the first alert to recovery: the MTTR the postmortem template tracks.",
            ["severity"],
            buckets=_INCIDENT_BUCKETS,
            registry=registry,
        )
        self.time_to_acknowledge = Histogram(
            f"{PREFIX}_time_to_acknowledge_seconds",
            "From the first alert to the first acknowledgement (silence or ack event).",
            ["severity"],
            buckets=_INCIDENT_BUCKETS,
            registry=registry,
        )
        self.drafts_rendered = Counter(
            f"{PREFIX}_drafts_rendered_total",
            "Draft postmortem renders stored (new revisions and refreshes), by result.",
            ["result"],
            registry=registry,
        )
        self.draft_render_seconds = Histogram(
            f"{PREFIX}_draft_render_seconds",
            "Time to render one draft postmortem from its incident.",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=registry,
        )
        self.draft_exports = Counter(
            f"{PREFIX}_draft_exports_total",
            "Draft files written to RECEIVER_DRAFTS_DIR, by result (written, failed).",
            ["result"],
            registry=registry,
        )
        self.manual_events = Counter(
            f"{PREFIX}_manual_events_total",
            "Manual events recorded (alert-webhook.sh or POST /api/v1/events), by type.",
            ["type"],
            registry=registry,
        )
        self.reconcile_runs = Counter(
            f"{PREFIX}_reconcile_runs_total",
            "Questions to an Alertmanager about open incidents, by result (ok, unreachable).",
            ["result"],
            registry=registry,
        )
        self.store_errors = Counter(
            f"{PREFIX}_store_errors_total",
            "Database operations that failed (the request got 503), by where they happened.",
            ["where"],
            registry=registry,
        )
        self.notifications = Counter(
            f"{PREFIX}_notifications_total",
            "Chat messages handled by the outbox sender, by channel and result (sent; retry: "
            "the platform or network failed and it will be tried again; failed: given up).",
            ["channel", "result"],
            registry=registry,
        )
        self.notify_seconds = Histogram(
            f"{PREFIX}_notification_send_seconds",
            "Time for one chat platform to answer one message, by channel.",
            ["channel"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.notify_queue = Gauge(
            f"{PREFIX}_notification_queue",
            "Chat messages in the outbox not yet sent nor given up (as of the sender's last pass).",
            registry=registry,
        )
        self.inbox_quarantined = Counter(
            f"{PREFIX}_inbox_quarantined_total",
            "Inbox entries whose application kept failing, set aside (see `postmortem-receiver "
            "inbox list`); the entries behind them went on.",
            registry=registry,
        )
        self.inbox_backlog = Gauge(
            f"{PREFIX}_inbox_backlog",
            "Webhooks and events accepted but not yet applied, read at each scrape.",
            registry=registry,
        )
        self.inbox_apply_lag = Gauge(
            f"{PREFIX}_inbox_apply_lag_seconds",
            "Age of the oldest accepted entry not yet applied (0 when none), at each scrape.",
            registry=registry,
        )
        self.inbox_quarantine_size = Gauge(
            f"{PREFIX}_inbox_in_quarantine",
            "Inbox entries in quarantine now, read at each scrape.",
            registry=registry,
        )
        # changes to services (issue 20)
        self.changes = Counter(
            f"{PREFIX}_changes_received_total",
            "Deliveries to POST /api/v1/changes/{source}, by feed and result (accepted into "
            "the inbox, ignored: no change, rejected) and, for rejected ones, the reason.",
            ["source", "result", "reason"],
            registry=registry,
        )
