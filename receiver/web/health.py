"""Liveness, readiness and metrics."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from receiver.store import StoreUnavailable
from receiver.web.keys import DATABASE, METRICS
from receiver.web.serialize import json_response


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
    ready = all(value == "ok" for value in checks.values()) and "schema" in checks
    return json_response(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status=200 if ready else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
