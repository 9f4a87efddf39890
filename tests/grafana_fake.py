"""A stand-in for Grafana's built-in Alertmanager API, since Grafana itself cannot be
installed on the test machines.

It serves what Grafana documents (its OpenAPI definitions, `RouteGetGrafanaSilences`,
`RouteGetGrafanaAMAlerts`, `RouteGetGrafanaAMStatus`) under `/api/alertmanager/grafana/api/v2`:
silences as `gettableGrafanaSilences` (Alertmanager's silence plus `metadata` and
`accessControl`), alerts as Alertmanager's `gettableAlerts`, and a status without an
uptime (Grafana builds it with `NewGettableStatus`, which leaves `uptime` null). Every
request needs the service-account token as a bearer token, as Grafana's API does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from receiver.alertmanager.grafana import ALERTMANAGER_PATH

API = ALERTMANAGER_PATH + "/api/v2"


@dataclass
class FakeGrafana:
    token: str
    silences: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)  # what each request carried

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get(API + "/silences", self._silences)
        app.router.add_get(API + "/alerts", self._alerts)
        app.router.add_get(API + "/status", self._status)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        given = request.headers.get("Authorization", "")
        self.authorizations.append(given)
        if given != f"Bearer {self.token}":
            return web.json_response({"message": "Unauthorized"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    async def _silences(self, request: web.Request) -> web.Response:
        return web.json_response(self.silences)

    async def _alerts(self, request: web.Request) -> web.Response:
        return web.json_response(self.alerts)

    async def _status(self, request: web.Request) -> web.Response:
        na = "N/A"
        return web.json_response(
            {
                "cluster": {"status": "disabled", "peers": []},
                "config": {"route": {"receiver": "grafana-default-email"}, "receivers": []},
                "uptime": None,
                "versionInfo": {
                    "branch": na,
                    "buildDate": na,
                    "buildUser": na,
                    "goVersion": na,
                    "revision": na,
                    "version": na,
                },
            }
        )


def gettable_silence(
    silence_id: str, matchers: dict[str, str], starts_at: str, created_by: str, comment: str
) -> dict[str, Any]:
    """A silence as GET /api/alertmanager/grafana/api/v2/silences lists it."""
    return {
        "id": silence_id,
        "status": {"state": "active"},
        "updatedAt": starts_at,
        "comment": comment,
        "createdBy": created_by,
        "startsAt": starts_at,
        "endsAt": "2099-01-01T00:00:00Z",
        "matchers": [
            {"name": name, "value": value, "isEqual": True, "isRegex": False}
            for name, value in matchers.items()
        ],
        "metadata": {"rule_uid": "1afz29v7z", "rule_title": "High memory usage"},
        "accessControl": {"read": True, "write": True, "create": True},
    }


def gettable_alert(alert: dict[str, Any]) -> dict[str, Any]:
    """A webhook's alert as GET /api/alertmanager/grafana/api/v2/alerts lists it."""
    return {
        "annotations": alert["annotations"],
        "endsAt": "2099-01-01T00:00:00Z",
        "fingerprint": alert["fingerprint"],
        "receivers": [{"name": "My Super Webhook"}],
        "startsAt": alert["startsAt"],
        "status": {"inhibitedBy": [], "silencedBy": [], "state": "active"},
        "updatedAt": alert["startsAt"],
        "generatorURL": alert["generatorURL"],
        "labels": alert["labels"],
    }
