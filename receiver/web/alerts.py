"""POST /api/v1/alerts: the Alertmanager webhook."""

from __future__ import annotations

import time

from aiohttp import web
from pydantic import ValidationError

from receiver.alertmanager import Webhook
from receiver.limits import Limits, webhook_problems
from receiver.store import StoreUnavailable
from receiver.web.body import ArrayLimit, read_json
from receiver.web.errors import ApiError, invalid_input
from receiver.web.keys import METRICS, SERVICE, SETTINGS
from receiver.web.serialize import json_response


async def receive_alerts(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    started = time.perf_counter()
    try:
        settings = request.app[SETTINGS]
        # a storm's worth of alerts is refused while parsing, before any is validated
        too_many = ArrayLimit("alerts", settings.max_alerts, "RECEIVER_MAX_ALERTS")
        data, text = await read_json(request, settings.max_body, limit=too_many)
        if not isinstance(data, dict):
            raise ApiError(422, "invalid_webhook", "the body must be a JSON object")
        try:
            hook = Webhook.parse(data)
        except ValidationError as exc:
            raise invalid_input(
                "invalid_webhook", "the body is not an Alertmanager version 4 webhook", exc
            ) from exc
        problems = webhook_problems(
            hook, Limits(settings.max_alerts, settings.max_labels, settings.max_value_length)
        )
        if problems:
            raise ApiError(
                problems[0].status,
                "too_large" if problems[0].status == 413 else "invalid_webhook",
                f"the webhook is over a limit: {problems[0].field}: {problems[0].message}",
                [{"field": p.field, "message": p.message} for p in problems],
            )
        service = request.app[SERVICE]
        # answered only after the transaction holding the body and its effects committed
        result = await service.ingest_webhook(hook, text)
    except ApiError as exc:
        metrics.webhooks.labels(result="rejected", reason=exc.code).inc()
        raise
    except StoreUnavailable:
        metrics.webhooks.labels(result="store_error", reason="").inc()
        raise
    finally:
        metrics.webhook_seconds.observe(time.perf_counter() - started)
    metrics.webhooks.labels(result="accepted" if result.changed else "duplicate", reason="").inc()
    return json_response(
        {
            "status": "accepted" if result.changed else "duplicate",
            "incident_id": result.incident_id,
            "incident_status": result.status.value,
            "created": result.created,
            "draft_revision": result.draft_revision,
        },
        status=201 if result.created else 200,
    )
