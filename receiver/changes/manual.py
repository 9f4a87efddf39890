"""A change told by a person (alert-webhook.sh deploy|config, or any script): our own
JSON. Its id is the client's when given, else a hash of its fields, time included; the
accept path writes the time in when the client gave none, so a replay hashes alike."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from receiver.changes.common import source_id, utc
from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from receiver.domain.moments import accepted
from receiver.text import Key, Line, Message, Name


class ManualChange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    service: Name
    type: ChangeType
    what: Message
    version: Line | None = None
    from_version: Line | None = Field(default=None, alias="from")
    by: Name | None = None
    link: Line | None = None
    at: datetime
    id: Key | None = None
    namespace: Name | None = None
    cluster: Name | None = None

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-11-26T14:20:44+08:00")
        return accepted(value)

    @field_validator("version", "from_version", "link", "by", "namespace", "cluster", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


def read_manual(data: Any) -> ServiceChange:
    change = ManualChange.model_validate(data)
    if change.id is not None:
        own_id = "id:" + change.id
    else:
        fields = change.model_dump(mode="json", by_alias=True, exclude_none=True)
        text = json.dumps(fields, sort_keys=True, ensure_ascii=False)
        own_id = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return ServiceChange(
        source=ChangeSource.MANUAL,
        source_id=source_id(own_id),
        type=change.type,
        service=change.service,
        summary=change.what.strip() or change.type.value,
        started_at=utc(change.at),
        namespace=change.namespace,
        cluster=change.cluster,
        from_version=change.from_version,
        to_version=change.version,
        actor=change.by,
        link=change.link,
    )
