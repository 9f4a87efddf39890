"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from receiver.checks import drafts_dir_problem
from receiver.domain.incident import PRIORITY_ORDER, IncidentStatus
from receiver.store import StoreUnavailable
from receiver.web.identity import IDENTITY
from receiver.web.keys import DATABASE, METRICS, SERVICE, SETTINGS
from receiver.web.serialize import json_response

OPEN_STATUSES = tuple(s.value for s in IncidentStatus if s is not IncidentStatus.APPROVED)


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    checks: dict[str, str] = {}
    try:
        state = await request.app[DATABASE].schema_state()
        checks["store"] = "ok"
        checks["schema"] = "ok" if state.is_current else f"at {state.current}, need {state.head}"
    except StoreUnavailable as exc:
        checks["store"] = f"unavailable: {exc}"
    drafts_dir = request.app[SETTINGS].drafts_dir
    if drafts_dir is not None:
        problem = await asyncio.to_thread(drafts_dir_problem, drafts_dir)
        checks["drafts_dir"] = problem or "ok"
    ready = all(value == "ok" for value in checks.values()) and "schema" in checks
    body: dict[str, object] = {"status": "ready" if ready else "not_ready"}
    if IDENTITY in request:  # the detail names paths and errors: only for the API's callers
        body["checks"] = checks
        inbox = await _inbox_detail(request) if checks["store"] == "ok" else None
        if inbox is not None:
            body["inbox"] = inbox
    return json_response(body, status=200 if ready else 503)


async def _inbox_detail(request: web.Request) -> dict[str, float] | None:
    """What waits in the inbox. Not part of readiness: a backlog or a quarantined entry is
    the same on every replica, and taking replicas out of service would not help."""
    service = request.app[SERVICE]
    try:
        backlog = await service.queries.inbox_backlog()
        quarantined = await service.queries.quarantined_count()
    except StoreUnavailable:
        return None
    lag = (service.clock() - backlog.oldest).total_seconds() if backlog.oldest else 0.0
    return {
        "backlog": backlog.entries,
        "lag_seconds": round(max(0.0, lag), 1),
        "quarantined": quarantined,
    }


async def metrics(request: web.Request) -> web.Response:
    registry = request.app[METRICS]
    try:
        counts = await request.app[SERVICE].queries.unapproved_counts()
    except StoreUnavailable:
        registry.store_errors.labels(where="metrics").inc()
    else:
        # every known series is set, so one that dropped to zero reads 0, not stale
        registry.open_incidents.clear()
        for severity in PRIORITY_ORDER:
            for status in OPEN_STATUSES:
                registry.open_incidents.labels(severity=severity, status=status).set(
                    counts.get((severity, status), 0)
                )
    try:
        backlog = await request.app[SERVICE].queries.inbox_backlog()
        quarantined = await request.app[SERVICE].queries.quarantined_count()
    except StoreUnavailable:
        registry.store_errors.labels(where="metrics").inc()
    else:
        registry.inbox_backlog.set(backlog.entries)
        now = request.app[SERVICE].clock()
        lag = (now - backlog.oldest).total_seconds() if backlog.oldest else 0.0
        registry.inbox_apply_lag.set(max(0.0, lag))
        registry.inbox_quarantine_size.set(quarantined)
    body = generate_latest(registry.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
