"""Grafana-managed alerts: the webhook contact point's body (`"version": "1"`), parsed and
translated into the Alertmanager webhook the rest of the receiver knows. Pure.

Grafana's notifications come from its built-in Alertmanager, so the body has the same
groups and alerts (fingerprint, startsAt, endsAt, generatorURL) plus a few fields of its
own. What the draft uses of those travels with each alert as annotations under reserved
names (`__grafana_…__`, as Grafana itself keeps its internal annotations), so incidents,
episodes and storage stay one path for both senders.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StrictInt

from receiver.alertmanager.webhook import Alert, AlertStatus, Labels, Webhook
from receiver.domain.lifecycle import FIRING_VALUES
from receiver.text import NonEmpty, Text

# Where Grafana serves its built-in Alertmanager's v2 API (silences, alerts, status).
ALERTMANAGER_PATH = "/api/alertmanager/grafana"
# Grafana's extras on each alert, as annotations of the episode
VALUES = FIRING_VALUES  # the rule's query results when it fired, e.g. "B=44.24, C=1"
DASHBOARD_URL = "__grafana_dashboard_url__"
PANEL_URL = "__grafana_panel_url__"
IMAGE_URL = "__grafana_image_url__"
SILENCE_URL = "__grafana_silence_url__"
EXTRAS = (VALUES, DASHBOARD_URL, PANEL_URL, IMAGE_URL, SILENCE_URL)

# one query of Grafana's valueString: "[ var='B' labels={instance=a} value=44.2 ]"; classic
# conditions add metric='…' and some versions type='…'; the documented example has only
# metric='' (then the value is named "value")
_VALUE_STRING_PART = re.compile(
    r"\[\s*(?:var|metric)='(?P<name>[^']*)'.*?\svalue=(?P<value>[^\s\]]+)\s*\]"
)

# longer ones are kept as text: a hostile body must not make the pattern above scan long
_MAX_PARSED_VALUE_STRING = 4096

Figure = Annotated[float, Strict()]  # a JSON number: "44.2" or true are not query results


class GrafanaAlert(Alert):
    """One alert as Grafana's webhook sends it: Alertmanager's fields and Grafana's own."""

    silence_url: Text = Field(default="", alias="silenceURL")
    dashboard_url: Text = Field(default="", alias="dashboardURL")
    panel_url: Text = Field(default="", alias="panelURL")
    image_url: Text = Field(default="", alias="imageURL")
    values: dict[Text, Figure] | None = None  # Go's nil map arrives as null
    value_string: Text = Field(default="", alias="valueString")  # before `values` (Grafana 8-9)

    def extras(self) -> dict[str, str]:
        """Grafana's fields worth keeping, under their reserved annotation names; the
        query values only when the alert fires (a resolve's values are the calm ones)."""
        found = {
            DASHBOARD_URL: self.dashboard_url,
            PANEL_URL: self.panel_url,
            IMAGE_URL: self.image_url,
            SILENCE_URL: self.silence_url,
        }
        if self.status is AlertStatus.FIRING:
            found[VALUES] = format_values(self.values or {}) or format_value_string(
                self.value_string
            )
        return {name: value for name, value in found.items() if value}


class GrafanaWebhook(BaseModel):
    """The body of Grafana's webhook contact point (Grafana 8 to 12)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    version: Literal["1"]
    org_id: StrictInt = Field(alias="orgId")
    receiver: Text
    status: AlertStatus
    alerts: Annotated[list[GrafanaAlert], Field(min_length=1)]
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Labels = Field(default_factory=dict, alias="commonAnnotations")
    external_url: Text = Field(default="", alias="externalURL")
    group_key: NonEmpty = Field(alias="groupKey")
    truncated_alerts: StrictInt = Field(default=0, ge=0, alias="truncatedAlerts")
    # documented as "will be deprecated soon": read when present, never required
    state: Text = ""  # "alerting" or "ok"
    title: Text = ""

    @classmethod
    def parse(cls, data: Any) -> GrafanaWebhook:
        return cls.model_validate(data)

    def as_webhook(self) -> Webhook:
        """The same notification as Alertmanager's webhook: Grafana's extras become
        reserved annotations, and the sender is Grafana's built-in Alertmanager."""
        alerts: list[Alert] = [
            alert.model_copy(update={"annotations": {**alert.annotations, **alert.extras()}})
            for alert in self.alerts
        ]
        return Webhook(
            version="4",
            receiver=self.receiver,
            status=self.status,
            alerts=alerts,
            group_labels=self.group_labels,
            common_labels=self.common_labels,
            common_annotations=self.common_annotations,
            external_url=alertmanager_url(self.external_url),
            group_key=self.group_key,
            truncated_alerts=self.truncated_alerts,
        )


def is_grafana_body(data: Mapping[str, Any]) -> bool:
    """Grafana's contact point says `"version": "1"`; Alertmanager's says "4"."""
    return data.get("version") == "1"


def alertmanager_url(external_url: str) -> str:
    """The API base of the Grafana's built-in Alertmanager, from its externalURL."""
    root = external_url.strip().rstrip("/")
    return root + ALERTMANAGER_PATH if root else ""


def grafana_root(url: str) -> str | None:
    """The Grafana an incident's Alertmanager URL belongs to, or None for any other
    Alertmanager."""
    if not url.endswith(ALERTMANAGER_PATH):
        return None
    return url.removesuffix(ALERTMANAGER_PATH)


def format_values(values: Mapping[str, float]) -> str:
    """`B=44.24, C=1`: the rule's queries by their reference id, in Grafana's order."""
    return ", ".join(f"{name}={format_figure(value)}" for name, value in values.items())


def format_value_string(text: str) -> str:
    """The older valueString, `[ var='B' labels={…} value=44.2 ], …`, as `B=44.2, …`;
    a text in any other shape is kept as it is."""
    parts = list(_VALUE_STRING_PART.finditer(text)) if len(text) <= _MAX_PARSED_VALUE_STRING else []
    if not parts:
        return " ".join(text.split())
    return ", ".join(f"{part['name'] or 'value'}={_figure_text(part['value'])}" for part in parts)


def format_figure(value: float) -> str:
    """Enough digits to read, no float noise: 44.23943737541908 → 44.24, 1.0 → 1."""
    if not math.isfinite(value):
        return str(value)
    if value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else f"{value:.6g}"
    if abs(value) >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def _figure_text(text: str) -> str:
    try:
        return format_figure(float(text))
    except ValueError:  # Grafana writes "<nil>" for a query without a value
        return text
