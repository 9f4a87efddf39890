"""Every route the app serves, in one table: the JSON API, then the review pages, then ops."""

from __future__ import annotations

from aiohttp import web

from receiver.web.api import alerts, events, health, inbox, incidents, kpi, openapi, policy, review
from receiver.web.keys import WEBHOOK_ROUTE
from receiver.web.pages import incidents as incident_pages
from receiver.web.pages import kpi as kpi_pages
from receiver.web.pages import login, static

_INCIDENT_API = r"/api/v1/incidents/{incident_id:\d+}"
_INCIDENT_PAGE = r"/incidents/{incident_id:\d+}"

ROUTES: list[web.RouteDef] = [
    web.post("/api/v1/alerts", alerts.receive_alerts, name=WEBHOOK_ROUTE),
    web.post("/api/v1/events", events.post_event),
    web.get(r"/api/v1/inbox/{inbox_id:\d+}", inbox.get_inbox_entry),
    web.get("/api/v1/incidents", incidents.list_incidents),
    web.get(_INCIDENT_API, incidents.get_incident),
    web.get(_INCIDENT_API + "/postmortem.md", incidents.get_postmortem),
    web.patch(_INCIDENT_API, review.patch_fields),
    web.get(_INCIDENT_API + "/fields", review.get_fields),
    web.post(_INCIDENT_API + "/status", review.post_status),
    web.get(_INCIDENT_API + "/revisions", review.list_revisions),
    web.post(_INCIDENT_API + "/evidence", review.refresh_evidence),
    web.post(_INCIDENT_API + "/promote", policy.promote),
    web.get("/api/v1/kpi", kpi.get_kpi),
    web.get("/api/v1/openapi.json", openapi.document),
    web.get("/", incident_pages.list_page),
    web.get(_INCIDENT_PAGE, incident_pages.incident_view),
    web.post(_INCIDENT_PAGE + "/fields", incident_pages.save_fields),
    web.post(_INCIDENT_PAGE + "/status", incident_pages.set_status),
    web.get(_INCIDENT_PAGE + "/diff", incident_pages.diff_page),
    web.get(_INCIDENT_PAGE + "/postmortem.md", incident_pages.download),
    web.get(_INCIDENT_PAGE + r"/evidence/{number:\d+}.svg", incident_pages.evidence_chart),
    web.post(_INCIDENT_PAGE + "/evidence", incident_pages.refresh_evidence),
    web.post(_INCIDENT_PAGE + "/promote", incident_pages.promote),
    web.get("/kpi", kpi_pages.kpi_page),
    web.get("/kpi.csv", kpi_pages.kpi_csv_file),
    web.get("/login", login.login_page),
    web.post("/login", login.login),
    web.post("/logout", login.logout),
    web.get("/static/{name}", static.static_file),
    web.get("/healthz", health.healthz),
    web.get("/readyz", health.readyz),
    web.get("/metrics", health.metrics),
]
