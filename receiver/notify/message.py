"""The platform-neutral message: what one incident event says, in the configured language."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from receiver.config.notify import NotifyEvent


@dataclass(frozen=True, slots=True)
class Message:
    """Everything a platform formatter needs; stored as JSON in the outbox.

    Texts (`headline`, `title`, …) are data from alerts and people: each platform's
    formatter escapes them for its own markup.
    """

    event: NotifyEvent
    language: str  # "zh" | "en"
    incident_id: int
    headline: str  # e.g. "事故已恢复，复盘草稿已生成" — the event, said for humans
    title: str  # the incident's title
    severity: str  # P0..P3
    service: str
    status: str
    started_at: datetime
    zone: str  # IANA zone the times are shown in (RECEIVER_TIMEZONE)
    duration: timedelta | None  # first alert to recovery; None while firing
    acknowledged_by: str | None
    link: str | None  # the review page; None when RECEIVER_PUBLIC_URL is unset
    # the opened message's top suspect change (receiver.notify.suspect); "" for none
    suspect: str = ""
    # more lines, each one visible line of data (issue 21: similar past incidents,
    # the action item a reminder is about); each platform escapes them
    notes: tuple[str, ...] = ()
    # chat user ids to @mention (from the config's owner mapping), never from data
    mentions: tuple[str, ...] = ()
    link_label: str = ""  # the link's words when it is not the review page
    # whether a postmortem is required and why (services with SLOs), in the language
    postmortem: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["event"] = self.event.value
        data["started_at"] = self.started_at.isoformat()
        data["duration"] = None if self.duration is None else self.duration.total_seconds()
        data["notes"], data["mentions"] = list(self.notes), list(self.mentions)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        duration = data.get("duration")
        return cls(
            event=NotifyEvent(data["event"]),
            language=str(data["language"]),
            incident_id=int(data["incident_id"]),
            headline=str(data["headline"]),
            title=str(data["title"]),
            severity=str(data["severity"]),
            service=str(data["service"]),
            status=str(data["status"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            zone=str(data["zone"]),
            duration=None if duration is None else timedelta(seconds=float(duration)),
            acknowledged_by=data.get("acknowledged_by"),
            link=data.get("link"),
            suspect=str(data.get("suspect") or ""),  # absent in messages queued before
            notes=tuple(str(n) for n in data.get("notes") or ()),
            mentions=tuple(str(m) for m in data.get("mentions") or ()),
            link_label=str(data.get("link_label") or ""),
            postmortem=data.get("postmortem"),
        )
