"""POST /api/v1/alerts: the Alertmanager webhook, and Grafana's webhook contact point."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from receiver.alertmanager.grafana import GrafanaWebhook, is_grafana_body
from receiver.alertmanager.webhook import Webhook
from receiver.limits import Limits, webhook_problems
from receiver.store import StoreUnavailable
from receiver.usecases.errors import InboxFull
from receiver.web.api.quick_accept import plainly_acceptable
from receiver.web.api.signature import check_grafana_signature
from receiver.web.body import ArrayLimit, parse_json, read_json_text
from receiver.web.errors import ApiError, invalid_input
from receiver.web.identity import credential_of
from receiver.web.keys import METRICS, SERVICE, SETTINGS


async def receive_alerts(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    service = request.app[SERVICE]
    service.accept.arriving()  # before its body is read: the applier makes way now
    # refusals and store failures are counted, and every webhook timed, here rather than
    # in a context manager: its generator cost the hot path as much as the counting
    started = time.perf_counter()
    try:
        text, kind = await _parse(request)
        # answered once the body is durably in the inbox; its effects are applied behind
        inbox_id = await service.accept(kind, text, credential_of(request))
    except ApiError as exc:
        metrics.webhooks.labels(result="rejected", reason=exc.code).inc()
        raise
    except StoreUnavailable:
        metrics.webhooks.labels(result="store_error", reason="").inc()
        raise
    except InboxFull:
        metrics.webhooks.labels(result="refused", reason="inbox_full").inc()
        raise
    finally:
        metrics.webhook_seconds.observe(time.perf_counter() - started)
    metrics.webhooks_accepted.inc()
    return _accepted(inbox_id)


def _accepted(inbox_id: int) -> web.Response:
    """202 {"status": "accepted", "inbox_id": N}, byte for byte as json_response writes it,
    without encoding a dict for every webhook (which cost twice the Response itself)."""
    body = b'{"status": "accepted", "inbox_id": %d}' % inbox_id
    return web.Response(body=body, status=202, content_type="application/json", charset="utf-8")


async def _parse(request: web.Request) -> tuple[str, str]:
    """The webhook's text, checked within the limits, and whose it is; else a 4xx."""
    settings = request.app[SETTINGS]
    limits = Limits(settings.max_alerts, settings.max_labels, settings.max_value_length)
    raw, text = await read_json_text(request, settings.max_body)
    if plainly_acceptable(raw, text, limits):  # nearly every webhook: one pass over it
        return text, "alertmanager"
    # a storm's worth of alerts is refused while parsing, before any is validated
    too_many = ArrayLimit("alerts", settings.max_alerts, "RECEIVER_MAX_ALERTS")
    data = await parse_json(text, too_many)
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_webhook", "the body must be a JSON object")
    hook, kind = _recognise(request, data, text)
    problems = webhook_problems(hook, limits)
    if problems:
        raise ApiError(
            problems[0].status,
            "too_large" if problems[0].status == 413 else "invalid_webhook",
            f"the webhook is over a limit: {problems[0].field}: {problems[0].message}",
            [{"field": p.field, "message": p.message} for p in problems],
        )
    return text, kind


def _recognise(request: web.Request, data: dict[str, Any], text: str) -> tuple[Webhook, str]:
    """The webhook and whose it is, by its version: Alertmanager's "4" or Grafana's "1"."""
    if is_grafana_body(data):
        # strict UTF-8 decoding gave `text`: encoding it again gives the signed bytes
        now = request.app[SERVICE].clock()
        check_grafana_signature(request.app[SETTINGS], request.headers, text.encode(), now)
        try:
            return GrafanaWebhook.parse(data).as_webhook(), "grafana"
        except ValidationError as exc:
            raise invalid_input(
                "invalid_webhook", "the body is not a Grafana webhook (version 1)", exc
            ) from exc
    try:
        return Webhook.parse(data), "alertmanager"
    except ValidationError as exc:
        what = (
            "the body is not an Alertmanager version 4 webhook"
            if data.get("version") == "4"
            else "the body is neither an Alertmanager version 4 webhook nor a Grafana "
            "webhook (version 1)"
        )
        raise invalid_input("invalid_webhook", what, exc) from exc
