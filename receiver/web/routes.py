"""Every route the app serves, in one table: the JSON API, then the review pages, then ops."""

from __future__ import annotations

from aiohttp import web

from receiver.web.api import (
    actions,
    alerts,
    changes,
    events,
    health,
    inbox,
    incidents,
    kpi,
    openapi,
    policy,
    review,
)
from receiver.web.keys import WEBHOOK_ROUTE
from receiver.web.pages import actions as action_pages
from receiver.web.pages import incidents as incident_pages
from receiver.web.pages import kpi as kpi_pages
from receiver.web.pages import login, static

_INCIDENT_API = r"/api/v1/incidents/{incident_id:\d+}"
_INCIDENT_PAGE = r"/incidents/{incident_id:\d+}"
_ACTION_API = "/api/v1/actions/{item_id:" + actions.ITEM_ID_PATTERN + "}"
_ACTION_PAGE = "/actions/{item_id:" + actions.ITEM_ID_PATTERN + "}"

ROUTES: list[web.RouteDef] = [
    web.post("/api/v1/alerts", alerts.receive_alerts, name=WEBHOOK_ROUTE),
    web.post("/api/v1/events", events.post_event),
    web.post("/api/v1/changes/{source}", changes.post_change),
    web.get("/api/v1/changes", changes.list_changes),
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
    web.get("/api/v1/actions", actions.list_actions),
    web.post(_ACTION_API + "/status", actions.post_item_status),
    web.get("/api/v1/openapi.json", openapi.document),
    web.get("/", incident_pages.list_page),
    web.get(_INCIDENT_PAGE, incident_pages.incident_view),
    web.post(_INCIDENT_PAGE + "/fields", incident_pages.save_fields),
    web.post(_INCIDENT_PAGE + "/status", incident_pages.set_status),
    web.get(_INCIDENT_PAGE + "/diff", incident_pages.diff_page),
    web.get(_INCIDENT_PAGE + "/postmortem.md", incident_pages.download),
    web.get(_INCIDENT_PAGE + r"/evidence/{number:\d+}.svg", incident_pages.evidence_chart),
    web.post(_INCIDENT_PAGE + "/evidence", incident_pages.refresh_evidence),
    web.post(_INCIDENT_PAGE + r"/changes/{change_id:\d+}/verdict", incident_pages.mark_change),
    web.post(_INCIDENT_PAGE + "/promote", incident_pages.promote),
    web.get("/kpi", kpi_pages.kpi_page),
    web.get("/kpi.csv", kpi_pages.kpi_csv_file),
    web.get("/actions", action_pages.actions_page),
    web.get("/actions.csv", action_pages.actions_csv_file),
    web.post(_ACTION_PAGE + "/status", action_pages.set_item_status),
    web.get("/login", login.login_page),
    web.post("/login", login.login),
    web.post("/logout", login.logout),
    web.get("/static/{name}", static.static_file),
    web.get("/healthz", health.healthz),
    web.get("/readyz", health.readyz),
    web.get("/metrics", health.metrics),
]
