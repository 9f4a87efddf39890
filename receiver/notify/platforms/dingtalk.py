"""DingTalk custom robot ("自定义机器人"): a markdown message.

Docs: https://open.dingtalk.com/document/robots/custom-robot-access and
https://open.dingtalk.com/document/orgapp/customize-robot-security-settings (加签).

Signature ("加签"): the string to sign is ``timestamp + "\\n" + secret`` (timestamp in
milliseconds), HMAC-SHA256 keyed with the secret, Base64, then URL-encoded; ``timestamp``
and ``sign`` are added to the webhook URL's query (which already has ``access_token``).
DingTalk rejects timestamps more than an hour off. Limit: 20 messages per minute per
robot; beyond that errcode 130101 and the robot is throttled for 10 minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Mapping
from datetime import datetime

from receiver.notify.message import Message
from receiver.notify.platforms import Outcome, OutgoingRequest, wording
from receiver.notify.platforms.errcode import read_errcode

TOO_FAST = 130101  # "send too fast, exceed 20 times per minute"
# DingTalk throttles a robot for 10 minutes after it exceeds 20/min: retrying sooner
# only fails again.
TOO_FAST_RETRY = 600.0


def sign(timestamp_ms: int, secret: str) -> str:
    """The ``sign`` query value, already URL-encoded as the docs require."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    parts = urllib.parse.urlsplit(url)
    extra = f"timestamp={timestamp_ms}&sign={sign(timestamp_ms, secret)}"
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urllib.parse.urlunsplit(parts._replace(query=query))


def text(message: Message) -> str:
    """Every field is cut (wording.FIELD_MAX/TITLE_MAX), so the text stays a few KB."""
    words = wording.labels(message.language)
    colon = "：" if message.language != "en" else ": "
    lines = [f"#### {wording.md_escape(message.headline, wording.TITLE_MAX)}"]
    title = wording.md_escape(message.title, wording.TITLE_MAX)
    lines.append(f"**{words.incident}**{colon}{wording.number(message)}{title}")
    lines += [f"**{f.label}**{colon}{wording.md_escape(f.value)}" for f in wording.fields(message)]
    lines += [wording.md_escape(note, wording.NOTE_MAX) for note in wording.notes(message)]
    if wording.mentions(message):
        lines.append(" ".join(f"@{user}" for user in wording.mentions(message)))
    link = wording.safe_link(message.link)
    lines.append(f"[{wording.link_label(message)}]({link})" if link else f"> {words.no_link}")
    # DingTalk starts a new line only at a paragraph break
    return "\n\n".join(lines)


def build(url: str, secret: str | None, message: Message, now: datetime) -> OutgoingRequest:
    # The title is what notifications and the chat list show: plain text, short; angle
    # brackets become look-alikes in case a client reads tags in it.
    headline = wording.clean(message.headline)
    title = wording.clean(f"[{message.severity}] {headline}", 64).translate(wording.ANGLES)
    payload: dict[str, object] = {
        "msgtype": "markdown",
        "markdown": {"title": title, "text": text(message)},
    }
    if wording.mentions(message):  # DingTalk notifies only those named here too
        payload["at"] = {"atUserIds": wording.mentions(message), "isAtAll": False}
    if secret:
        url = signed_url(url, secret, int(now.timestamp() * 1000))
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    return OutgoingRequest(url, {"Content-Type": "application/json; charset=utf-8"}, body)


def read(status: int, body: bytes, headers: Mapping[str, str]) -> Outcome:
    return read_errcode(
        "dingtalk",
        status,
        body,
        headers,
        rate_limited=TOO_FAST,
        rate_limited_retry=TOO_FAST_RETRY,
        default_retry=60.0,
    )
