"""Typed keys for what the app shares between handlers."""

from __future__ import annotations

from aiohttp import web

from receiver.config import Settings
from receiver.limits import RateLimiter
from receiver.metrics import Metrics
from receiver.service import IncidentService
from receiver.store import Database
from receiver.web.auth_failures import AuthFailures
from receiver.web.session import Sessions
from receiver.workers.evidence import EvidenceWorker

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
SERVICE = web.AppKey("service", IncidentService)
METRICS = web.AppKey("metrics", Metrics)
SESSIONS = web.AppKey("sessions", Sessions)
AUTH_FAILURES = web.AppKey("auth_failures", AuthFailures)
EVENT_LIMITER = web.AppKey("event_limiter", RateLimiter)
EVIDENCE = web.AppKey("evidence", EvidenceWorker)
# the Alertmanager webhook's route: its refusals, its body's included, are counted as
# rejected webhooks (postmortem_receiver_webhooks_received_total)
WEBHOOK_ROUTE = "webhook"
