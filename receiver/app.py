"""The app factory: what `serve` runs and what tests build."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import aiohttp
import structlog
from aiohttp import web

from receiver.alertmanager.client import AlertmanagerClient
from receiver.config import Settings
from receiver.evidence.collect import evidence_wanted
from receiver.limits import RateLimiter
from receiver.metrics import Metrics
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.usecases.service import IncidentService
from receiver.usecases.unit_of_work import utcnow
from receiver.web.auth_failures import AuthFailures
from receiver.web.keys import (
    APPLIER,
    AUTH_FAILURES,
    DATABASE,
    EVENT_LIMITER,
    EVIDENCE,
    METRICS,
    SERVICE,
    SESSIONS,
    SETTINGS,
)
from receiver.web.middleware import front_door
from receiver.web.routes import ROUTES
from receiver.web.session import Sessions
from receiver.workers.applier import POLL_SECONDS as APPLY_POLL_SECONDS
from receiver.workers.applier import Applier
from receiver.workers.background import running
from receiver.workers.evidence import EvidenceWorker
from receiver.workers.outbox import Sender
from receiver.workers.reconciler import Reconciler
from receiver.workers.reminders import ReminderPass

log = structlog.get_logger(__name__)
# how often the sender looks at the outbox for rows another replica queued or that are due
# for a retry; rows this process queues wake it at once
NOTIFY_POLL_SECONDS = 1.0
# evidence retries are minutes apart (receiver.evidence.collect.next_attempt)
EVIDENCE_POLL_SECONDS = 15.0


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> web.Application:
    # aiohttp's 1 MiB default would turn an alert storm into a 413 Alertmanager never retries
    app = web.Application(
        client_max_size=settings.max_body,
        # bodies are read (bounded, errors as JSON) only once the caller is authenticated
        middlewares=[front_door],
    )
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app[EVENT_LIMITER] = RateLimiter(settings.event_rate)
    renderer = DraftRenderer(settings.template_dir)
    renderer.check(settings.language)
    # the workers' wake-ups exist before the service that rings them and the workers that
    # wait on them, so no order of setup matters
    messages_queued, evidence_due = asyncio.Event(), asyncio.Event()
    inbox_appended = asyncio.Event()

    async def database_ctx(app: web.Application) -> AsyncIterator[None]:
        database = open_configured_database(settings)
        try:
            if settings.auto_migrate:
                await database.migrate()
            app[DATABASE] = database
            app[SERVICE] = IncidentService(
                database,
                settings,
                renderer,
                metrics=app[METRICS],
                clock=clock,
                defer_export_marks=True,  # close() below lets them finish
                messages_queued=messages_queued.set,
                evidence_wanted=evidence_due.set,
                inbox_appended=inbox_appended.set,
            )
            app[SESSIONS] = Sessions(settings, database, clock)
            app[AUTH_FAILURES] = AuthFailures(database, clock)
            yield
        finally:
            if SERVICE in app:
                await app[SERVICE].close()
            await database.close()
            log.info("store.closed")

    async def applier_ctx(app: web.Application) -> AsyncIterator[None]:
        applier = app[APPLIER] = Applier(app[SERVICE], inbox_appended)
        async with running(applier, APPLY_POLL_SECONDS):
            yield

    async def reconciler_ctx(app: web.Application) -> AsyncIterator[None]:
        if settings.reconcile_interval.total_seconds() <= 0:
            yield
            return
        token, grafana_token = settings.alertmanager_token, settings.grafana_token
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            client = AlertmanagerClient(
                session,
                token.get_secret_value() if token else None,
                grafana_token=grafana_token.get_secret_value() if grafana_token else None,
            )
            reconciler = Reconciler(
                app[SERVICE],
                client,
                app[METRICS],
                alertmanager_url=settings.alertmanager_url,
                restart_grace=settings.alertmanager_restart_grace,
                inbox_retention=settings.inbox_retention,
                clock=clock,
            )
            task = asyncio.create_task(reconciler.run_forever(settings.reconcile_interval))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def notifier_ctx(app: web.Application) -> AsyncIterator[None]:
        if not settings.notify.channels:
            yield
            return
        async with aiohttp.ClientSession() as session:
            sender = Sender(
                app[DATABASE],
                settings.notify,
                app[METRICS],
                session,
                clock=clock,
                wake=messages_queued,
            )
            async with running(sender, NOTIFY_POLL_SECONDS):
                yield

    async def reminders_ctx(app: web.Application) -> AsyncIterator[None]:
        # action item reminders and digests (issue 21): only with somewhere to send them
        interval = settings.action_reminder_interval.total_seconds()
        if interval <= 0 or not settings.notify.channels:
            yield
            return
        async with running(ReminderPass(app[SERVICE].reminders), interval):
            yield

    async def evidence_ctx(app: web.Application) -> AsyncIterator[None]:
        if not evidence_wanted(settings):
            yield
            return
        async with aiohttp.ClientSession() as session:
            worker = app[EVIDENCE] = EvidenceWorker(app[SERVICE].evidence, session, evidence_due)
            async with running(worker, EVIDENCE_POLL_SECONDS):
                yield

    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(applier_ctx)
    app.cleanup_ctx.append(reconciler_ctx)
    app.cleanup_ctx.append(notifier_ctx)
    app.cleanup_ctx.append(reminders_ctx)
    app.cleanup_ctx.append(evidence_ctx)
    app.add_routes(ROUTES)
    return app
