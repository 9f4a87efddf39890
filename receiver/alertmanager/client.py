"""A small client for the Alertmanager v2 API: silences, current alerts, start time.

Grafana's built-in Alertmanager serves the same API under
`<grafana>/api/alertmanager/grafana` (with a service-account token); its status says no
start time."""

from __future__ import annotations

from datetime import datetime

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from receiver.alertmanager.grafana import grafana_root
from receiver.alertmanager.silences import Silence

_SILENCES = TypeAdapter(list[Silence])


class AlertmanagerUnreachable(Exception):
    """Alertmanager did not answer, or answered something that is not its API."""


class _Fingerprinted(BaseModel):
    model_config = ConfigDict(extra="ignore")

    fingerprint: str


class _Status(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # when this Alertmanager started; Grafana's answers null
    uptime: datetime | None = Field(default=None)


_ALERTS = TypeAdapter(list[_Fingerprinted])


class AlertmanagerClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str | None = None,
        *,
        grafana_token: str | None = None,
    ) -> None:
        self.session = session
        self.token = token
        self.grafana_token = grafana_token

    def _headers(self, base_url: str) -> dict[str, str]:
        """Grafana's own token goes only to Grafana; the Alertmanager token elsewhere
        (and to Grafana too when it has none of its own)."""
        token = self.token
        if self.grafana_token and grafana_root(base_url.rstrip("/")) is not None:
            token = self.grafana_token
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _get(self, base_url: str, path: str, params: dict[str, str] | None = None) -> bytes:
        url = base_url.rstrip("/") + path
        headers = self._headers(base_url)
        try:
            async with self.session.get(url, params=params, headers=headers) as response:
                if response.status != 200:
                    raise AlertmanagerUnreachable(f"GET {url}: HTTP {response.status}")
                return await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AlertmanagerUnreachable(f"GET {url}: {exc or type(exc).__name__}") from exc

    async def silences(self, base_url: str) -> list[Silence]:
        body = await self._get(base_url, "/api/v2/silences")
        try:
            return _SILENCES.validate_json(body)
        except ValidationError as exc:
            raise AlertmanagerUnreachable(f"{base_url}: unexpected silences: {exc}") from exc

    async def present_fingerprints(self, base_url: str) -> set[str]:
        """Fingerprints of every alert Alertmanager holds unresolved (active, silenced,
        inhibited or unprocessed)."""
        params = {"active": "true", "silenced": "true", "inhibited": "true", "unprocessed": "true"}
        body = await self._get(base_url, "/api/v2/alerts", params)
        try:
            return {alert.fingerprint for alert in _ALERTS.validate_json(body)}
        except ValidationError as exc:
            raise AlertmanagerUnreachable(f"{base_url}: unexpected alerts: {exc}") from exc

    async def started_at(self, base_url: str) -> datetime | None:
        """When the Alertmanager started; None when it does not say (Grafana's)."""
        body = await self._get(base_url, "/api/v2/status")
        try:
            return _Status.model_validate_json(body).uptime
        except ValidationError as exc:
            raise AlertmanagerUnreachable(f"{base_url}: unexpected status: {exc}") from exc
