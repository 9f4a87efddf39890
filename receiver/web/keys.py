"""Typed keys for what the app shares between handlers, and the lookups that can fail."""

from __future__ import annotations

from aiohttp import web

from receiver.config import Settings
from receiver.limits import RateLimiter
from receiver.metrics import Metrics
from receiver.store import Database
from receiver.usecases.service import IncidentService
from receiver.web.auth_failures import AuthFailures
from receiver.web.errors import ApiError
from receiver.web.session import Sessions
from receiver.workers.applier import Applier
from receiver.workers.evidence import EvidenceWorker

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
SERVICE = web.AppKey("service", IncidentService)
METRICS = web.AppKey("metrics", Metrics)
SESSIONS = web.AppKey("sessions", Sessions)
AUTH_FAILURES = web.AppKey("auth_failures", AuthFailures)
EVENT_LIMITER = web.AppKey("event_limiter", RateLimiter)
EVIDENCE = web.AppKey("evidence", EvidenceWorker)
APPLIER = web.AppKey("applier", Applier)
# the Alertmanager webhook's route: its refusals, its body's included, are counted as
# rejected webhooks (postmortem_receiver_webhooks_received_total)
WEBHOOK_ROUTE = "webhook"


def require_evidence(request: web.Request) -> EvidenceWorker:
    if EVIDENCE not in request.app:
        raise ApiError(
            409, "not_configured", "no Prometheus is configured (set RECEIVER_PROMETHEUS_URL)"
        )
    return request.app[EVIDENCE]
