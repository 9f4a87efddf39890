"""WeCom (企业微信) group robot ("群机器人"): a markdown message.

Docs: https://developer.work.weixin.qq.com/document/path/91770

No signature: the ``key`` in the webhook URL is the credential. The markdown content is
at most 4096 bytes of UTF-8 and supports a subset (headings, bold, links, quotes,
``<font color="info|comment|warning">`` and ``<@userid>`` mentions). Limit: 20 messages
per minute per robot; beyond that errcode 45009.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from receiver.notify.message import Message
from receiver.notify.platforms import Outcome, OutgoingRequest, wording
from receiver.notify.platforms.errcode import read_errcode

CONTENT_MAX_BYTES = 4096
FREQUENCY = 45009  # "api freq out of limit"
FREQUENCY_RETRY = 60.0
# WeCom's three font colours: warning is orange-red, comment grey, info green
COLORS = {"P0": "warning", "P1": "warning", "P2": "comment", "P3": "comment"}


def content(message: Message, title_max: int = wording.TITLE_MAX) -> str:
    words = wording.labels(message.language)
    colon = "：" if message.language != "en" else ": "
    severity = wording.md_escape(message.severity)
    color = COLORS.get(message.severity.strip().upper(), "comment")
    lines = [f"### {wording.md_escape(message.headline, title_max)}"]
    title = wording.md_escape(message.title, title_max)
    lines.append(f"**{words.incident}**{colon}{wording.number(message)}{title}")
    for field in wording.fields(message):
        value = wording.md_escape(field.value)
        if field.key == "severity":
            value = f'<font color="{color}">{severity}</font>'
        lines.append(f"**{field.label}**{colon}{value}")
    lines += [wording.md_escape(note, title_max) for note in wording.notes(message)]
    if wording.mentions(message):
        lines.append(" ".join(f"<@{user}>" for user in wording.mentions(message)))
    link = wording.safe_link(message.link)
    lines.append(f"[{wording.link_label(message)}]({link})" if link else f"> {words.no_link}")
    return "\n".join(lines)


def fitting_content(message: Message) -> str:
    """The content under WeCom's 4096 bytes, cutting the alert's own words first."""
    for title_max in (wording.TITLE_MAX, 100, 50, 20):
        text = content(message, title_max)
        if len(text.encode()) <= CONTENT_MAX_BYTES:
            return text
    return text.encode()[:CONTENT_MAX_BYTES].decode("utf-8", "ignore")


def build(url: str, secret: str | None, message: Message, now: datetime) -> OutgoingRequest:
    payload = {"msgtype": "markdown", "markdown": {"content": fitting_content(message)}}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    return OutgoingRequest(url, {"Content-Type": "application/json; charset=utf-8"}, body)


def read(status: int, body: bytes, headers: Mapping[str, str]) -> Outcome:
    return read_errcode(
        "wecom",
        status,
        body,
        headers,
        rate_limited=FREQUENCY,
        rate_limited_retry=None,  # Retry-After when given, else a minute
        default_retry=FREQUENCY_RETRY,
    )
