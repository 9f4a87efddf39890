"""What every platform says, in zh and en, and the text hygiene they all share.

The platform modules decide layout and markup; this module decides the words: field
labels, how a start time, a duration or "not acknowledged yet" reads, and how alert text
is made safe (one line, no invisible characters, bounded) before each platform escapes it
for its own markup. It also reads platforms' answers defensively (`json_object`,
`snippet`, `retry_after`): an answer is untrusted bytes.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from receiver.domain.moments import in_zone
from receiver.notify.message import Message

# A chat line is read at a glance; 10k characters of alert title help nobody.
TITLE_MAX = 200
FIELD_MAX = 200
DETAIL_MAX = 200  # of a platform's answer, in Outcome.detail (and so in logs)
NOTE_MAX = 300  # one of a message's extra lines
NOTES_MAX = 20  # lines: a digest of many items says how many more there are
# what a chat user id may hold: nothing that ends a mention tag or starts markup
_USER_ID = re.compile(r"^[A-Za-z0-9_.@:-]{1,64}$")

# C0/C1 controls, bidi marks/embeddings/overrides/isolates, zero-width and other
# invisible format characters, BOM, lone surrogates (no UTF-8 encodes them): they can
# reorder or hide what a reader sees, or make the body unencodable.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


@dataclass(frozen=True, slots=True)
class Labels:
    incident: str
    severity: str
    service: str
    status: str
    started: str
    duration: str
    acknowledged_by: str
    postmortem: str
    open_review: str
    ongoing: str
    not_yet: str
    no_link: str
    suspect: str
    statuses: Mapping[str, str]


LABELS: Mapping[str, Labels] = {
    "zh": Labels(
        incident="事故",
        severity="严重程度",
        service="服务",
        status="状态",
        started="开始时间",
        duration="持续时间",
        acknowledged_by="确认人",
        postmortem="事后分析",
        open_review="查看复盘",
        ongoing="进行中",
        not_yet="未确认",
        no_link="复盘页面链接未配置（请设置 RECEIVER_PUBLIC_URL）",
        suspect="疑似相关变更（待确认）",
        statuses={
            "firing": "告警中",
            "recovered": "已恢复",
            "drafted": "草稿已生成",
            "in_review": "复盘中",
            "approved": "已批准",
            "stale": "已过期",
        },
    ),
    "en": Labels(
        incident="Incident",
        severity="Severity",
        service="Service",
        status="Status",
        started="Started",
        duration="Duration",
        acknowledged_by="Acknowledged by",
        postmortem="Postmortem",
        open_review="Open the review page",
        ongoing="ongoing",
        not_yet="not yet",
        no_link="The review link is not configured (set RECEIVER_PUBLIC_URL)",
        suspect="Suspected change (to be confirmed)",
        statuses={
            "firing": "firing",
            "recovered": "recovered",
            "drafted": "draft written",
            "in_review": "in review",
            "approved": "approved",
            "stale": "stale",
        },
    ),
}


def labels(language: str) -> Labels:
    """The message's language; Chinese (the project's default) for anything unknown."""
    return LABELS.get(language, LABELS["zh"])


# -- text hygiene ------------------------------------------------------------------------


def clean(value: object, limit: int = FIELD_MAX) -> str:
    """Data as one visible line of at most `limit` characters (cut with "…")."""
    text = _INVISIBLE.sub("", " ".join(str(value).split()))
    return cut(text, limit)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


# Markdown that DingTalk and WeCom render: CommonMark-ish subsets plus a few HTML tags
# (<font>, WeCom's <@userid> mentions). Backslash-escape the inline metacharacters, and
# turn angle brackets into their full-width look-alikes: a backslash does not stop a
# mention such as <@all> in a renderer that only looks for the tag.
_MD_META = re.compile(r"([\\`*_\[\]()#~|!])")
ANGLES = str.maketrans({"<": "＜", ">": "＞"})


def md_escape(value: object, limit: int = FIELD_MAX) -> str:
    """Alert text as literal Markdown for DingTalk and WeCom (cleaned and cut first)."""
    return _MD_META.sub(r"\\\1", clean(value, limit)).translate(ANGLES)


def safe_link(link: str | None) -> str | None:
    """The review link as a Markdown/button target: http(s) only, with characters that
    would end a link (spaces, parentheses, angle brackets, quotes) percent-encoded."""
    if link is None:
        return None
    text = link.strip()
    if not re.match(r"^https?://[^\s/]", text, re.IGNORECASE):
        return None
    return urllib.parse.quote(text, safe=":/?#@!$&'*+,;=%-._~[]")


# -- values ------------------------------------------------------------------------------


def started(message: Message) -> str:
    """The start in the configured zone, e.g. "2026-11-26 14:03 CST"."""
    try:
        zone: tzinfo = ZoneInfo(message.zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    when = message.started_at
    if when.tzinfo is None:  # the Message promises aware UTC; don't let a slip shift it
        when = when.replace(tzinfo=UTC)
    return in_zone(when, zone).strftime("%Y-%m-%d %H:%M %Z")


def duration(message: Message) -> str:
    """ "1小时5分" / "1h 5m", to the nearest minute; "进行中" / "ongoing" without one."""
    words = labels(message.language)
    if message.duration is None:
        return words.ongoing
    return span(message.duration, message.language)


def span(value: timedelta, language: str) -> str:
    minutes = round(max(value.total_seconds(), 0) / 60)
    zh = language != "en"
    if minutes == 0:
        return "不足1分钟" if zh else "<1m"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    units = ("天", "小时", "分") if zh else ("d", "h", "m")
    parts = [f"{n}{unit}" for n, unit in zip((days, hours, mins), units, strict=True) if n]
    return ("" if zh else " ").join(parts)


def acknowledged(message: Message) -> str:
    if message.acknowledged_by is None or not clean(message.acknowledged_by):
        return labels(message.language).not_yet
    return message.acknowledged_by


def status(message: Message) -> str:
    return labels(message.language).statuses.get(message.status, message.status)


@dataclass(frozen=True, slots=True)
class Field:
    key: str  # severity, service, status, started, duration, acknowledged_by, postmortem
    label: str
    value: str  # not yet escaped: each platform escapes for its markup


def fields(message: Message) -> list[Field]:
    """The facts every platform shows, in this order; none for a digest of many incidents."""
    words = labels(message.language)
    if not message.incident_id:
        return []
    shown = [
        Field("severity", words.severity, message.severity),
        Field("service", words.service, message.service),
        Field("status", words.status, status(message)),
        Field("started", words.started, started(message)),
        Field("duration", words.duration, duration(message)),
        Field("acknowledged_by", words.acknowledged_by, acknowledged(message)),
        # the postmortem policy's verdict, for services with SLOs
        *(
            [Field("postmortem", words.postmortem, message.postmortem)]
            if message.postmortem
            else []
        ),
    ]
    if clean(message.suspect):
        shown.append(Field("suspect", words.suspect, clean(message.suspect)))
    return shown


def title_line(message: Message) -> str:
    """ "#12 支付接口 5xx 升高", cleaned and cut (not escaped)."""
    return f"{number(message)}{clean(message.title, TITLE_MAX)}"


def number(message: Message) -> str:
    """ "#12 " before the title; nothing for a message about no one incident (a digest)."""
    return f"#{message.incident_id} " if message.incident_id else ""


def link_label(message: Message) -> str:
    """The link's words: the message's own (a reminder links its item), else the review."""
    return clean(message.link_label, 40) or labels(message.language).open_review


def notes(message: Message) -> list[str]:
    """The extra lines, cleaned and cut (not escaped)."""
    shown = [clean(note, NOTE_MAX) for note in message.notes[:NOTES_MAX]]
    if len(message.notes) > NOTES_MAX:
        more = len(message.notes) - NOTES_MAX
        shown.append(f"……另有 {more} 项" if message.language != "en" else f"… {more} more")
    return shown


def mentions(message: Message) -> list[str]:
    """The chat user ids to mention that are safe inside every platform's mention tag."""
    return [m for m in message.mentions if _USER_ID.match(m)]


# -- reading answers ---------------------------------------------------------------------


def json_object(body: bytes) -> dict[str, Any] | None:
    """The answer as a JSON object, or None for anything else (never raises)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return data if isinstance(data, dict) else None


def integer(value: object) -> int | None:
    """A platform's error code, when it is one (bools are not codes)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def snippet(value: object) -> str:
    """Part of a platform's answer, safe to log: one line, bounded."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return clean(text, DETAIL_MAX)


def retry_after(headers: Mapping[str, str], default: float) -> float:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), else `default`;
    bounded to an hour so a hostile header cannot park a channel forever."""
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if raw is None:
        return default
    seconds: float | None
    try:
        seconds = float(raw.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            return default
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return default
    return min(max(seconds, 0.0), 3600.0)
