"""The Alertmanager webhook (version 4) as pydantic models: parsing only, no decisions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, field_validator

from receiver.domain.moments import ACCEPTED_SPAN, accepted
from receiver.text import Fingerprint, NonEmpty, Text

# Alertmanager sends Go's zero time for "no end yet".
_GO_ZERO_YEAR = 1


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


def _utc_or_none(value: datetime | None) -> datetime | None:
    if value is None or value.year <= _GO_ZERO_YEAR:
        return None
    if value.tzinfo is None:
        raise ValueError("timestamps need a time zone (Alertmanager sends RFC 3339)")
    return accepted(value)


def rfc3339_text(value: Any) -> Any:
    # lax pydantic would read a number as Unix seconds; Alertmanager sends RFC 3339 text
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 time string")
    return value


Timestamp = Annotated[datetime, BeforeValidator(rfc3339_text)]


Labels = dict[Text, Text]


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    status: AlertStatus
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    starts_at: Timestamp = Field(alias="startsAt")
    ends_at: Timestamp | None = Field(default=None, alias="endsAt")
    generator_url: Text = Field(default="", alias="generatorURL")
    fingerprint: Fingerprint

    @field_validator("starts_at")
    @classmethod
    def starts_at_utc(cls, value: datetime) -> datetime:
        converted = _utc_or_none(value)
        if converted is None:
            raise ValueError(f"startsAt must be a real time, not the zero time: {ACCEPTED_SPAN}")
        return converted

    @field_validator("ends_at")
    @classmethod
    def ends_at_utc(cls, value: datetime | None) -> datetime | None:
        return _utc_or_none(value)

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")


class Webhook(BaseModel):
    """One notification of one alert group, as Alertmanager's webhook_config posts it."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    version: Literal["4"]
    receiver: Text
    status: AlertStatus
    alerts: Annotated[list[Alert], Field(min_length=1)]
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Labels = Field(default_factory=dict, alias="commonAnnotations")
    external_url: Text = Field(default="", alias="externalURL")
    group_key: NonEmpty = Field(alias="groupKey")
    truncated_alerts: StrictInt = Field(default=0, ge=0, alias="truncatedAlerts")

    @classmethod
    def parse(cls, data: Any) -> Webhook:
        return cls.model_validate(data)
