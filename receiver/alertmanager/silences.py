"""Alertmanager silences as `GET /api/v2/silences` returns them, and which labels they match."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from receiver.text import Text


class Matcher(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    name: Text
    value: Text
    is_regex: bool = Field(default=False, alias="isRegex")
    is_equal: bool = Field(default=True, alias="isEqual")  # absent before Alertmanager 0.22

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.is_regex:
            try:
                # Alertmanager anchors its RE2 expressions; Python's syntax is close enough
                hit = re.fullmatch(self.value, actual) is not None
            except re.error:
                return False
        else:
            hit = actual == self.value
        return hit == self.is_equal


class SilenceStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    state: str


class Silence(BaseModel):
    """A silence as `GET /api/v2/silences` returns it."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    id: Text
    matchers: list[Matcher]
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime = Field(alias="endsAt")
    created_by: Text = Field(default="", alias="createdBy")
    comment: Text = ""
    status: SilenceStatus

    @property
    def state(self) -> str:
        return self.status.state

    def matches(self, labels: Mapping[str, str]) -> bool:
        return bool(self.matchers) and all(m.matches(labels) for m in self.matchers)
