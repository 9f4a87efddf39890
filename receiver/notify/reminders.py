"""The chat messages about action items (issue 21): a reminder of one item (due soon or
overdue, naming its owner) and a channel's weekly digest of open and overdue items."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from receiver.config.notify import NotifyEvent
from receiver.domain.action_items import TrackedItem, is_overdue
from receiver.domain.incident import Incident
from receiver.domain.reminders import Reminder, ReminderKind
from receiver.notify.compose import HEADLINES, compose
from receiver.notify.message import Message


@dataclass(frozen=True, slots=True)
class Words:
    due_soon: str
    due_today: str
    overdue: str
    item: str  # one item's line
    overdue_mark: str
    digest_title: str
    open_item: str
    open_all: str


WORDS = {
    "zh": Words(
        due_soon="行动项将在 {days} 天内到期",
        due_today="行动项今天到期",
        overdue="行动项已逾期",
        item="{text}（负责人：{owner}，截止：{due}{overdue}，来自事故 #{incident_id}）",
        overdue_mark="，已逾期",
        digest_title="本周行动项：{open} 项未完成，其中 {overdue} 项已逾期",
        open_item="查看行动项",
        open_all="查看全部行动项",
    ),
    "en": Words(
        due_soon="Action item due within {days} days",
        due_today="Action item due today",
        overdue="Action item overdue",
        item="{text} (owner: {owner}, due {due}{overdue}, from incident #{incident_id})",
        overdue_mark=", overdue",
        digest_title="Action items this week: {open} open, {overdue} of them overdue",
        open_item="Open the action item",
        open_all="Open all action items",
    ),
}


def item_line(item: TrackedItem, language: str, today: date) -> str:
    words = WORDS.get(language, WORDS["zh"])
    late = is_overdue(item.due, item.status, today)
    return words.item.format(
        text=item.text,
        owner=item.owner,
        due=item.due.isoformat() if item.due else "—",
        overdue=words.overdue_mark if late else "",
        incident_id=item.incident_id,
    )


def reminder_message(
    reminder: Reminder,
    incident: Incident,
    *,
    language: str,
    zone: str,
    public_url: str | None,
    mention: str | None,
    today: date,
) -> Message:
    assert incident.id is not None
    words = WORDS.get(language, WORDS["zh"])
    item = reminder.item
    if reminder.kind is ReminderKind.OVERDUE:
        headline = words.overdue
    elif item.due == today:
        headline = words.due_today
    else:
        headline = words.due_soon.format(days=((item.due or today) - today).days)
    # the incident's facts as every message of it states them; the item's own headline,
    # line, mention and link
    message = compose(
        NotifyEvent.ACTION_REMINDER,
        incident,
        language=language,
        zone=zone,
        public_url=public_url,
        acknowledged_by=None,
        notes=(item_line(item, language, today),),
    )
    return replace(
        message,
        headline=headline,
        link=f"{public_url.rstrip('/')}/actions#item-{item.id}" if public_url else None,
        mentions=(mention,) if mention else (),
        link_label=words.open_item,
    )


def digest_message(
    items: Sequence[TrackedItem],
    *,
    language: str,
    zone: str,
    public_url: str | None,
    now: datetime,
    today: date,
) -> Message:
    words = WORDS.get(language, WORDS["zh"])
    late = sum(1 for item in items if is_overdue(item.due, item.status, today))
    return Message(
        event=NotifyEvent.ACTION_DIGEST,
        language=language,
        incident_id=0,  # about many incidents: no incident fields are shown
        headline=HEADLINES.get(language, HEADLINES["zh"])[NotifyEvent.ACTION_DIGEST],
        title=words.digest_title.format(open=len(items), overdue=late),
        severity="",
        service="",
        status="",
        started_at=now,
        zone=zone,
        duration=None,
        acknowledged_by=None,
        link=f"{public_url.rstrip('/')}/actions?status=open" if public_url else None,
        notes=tuple(item_line(item, language, today) for item in items),
        link_label=words.open_all,
    )
