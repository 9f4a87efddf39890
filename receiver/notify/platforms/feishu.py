"""Feishu / Lark custom bot ("自定义机器人"): an interactive card.

Docs: https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot
(and https://open.larksuite.com/document/client-docs/bot-v3/add-custom-bot for Lark).

Signature ("签名校验"): the string to sign is ``timestamp + "\\n" + secret``; it is the
*key* of an HMAC-SHA256 over an empty message, Base64-encoded. ``timestamp`` (seconds)
and ``sign`` go into the JSON body; Feishu rejects timestamps more than an hour off
(code 19021). Limits: 100 messages per minute and 5 per second per bot; body <= 20 KB.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from receiver.notify.message import Message
from receiver.notify.platforms import Outcome, OutgoingRequest, wording

# Card header colour by severity: the eye finds a P0 before reading it.
TEMPLATES = {"P0": "red", "P1": "orange", "P2": "yellow", "P3": "blue"}
# 11232: "frequency limited" under system pressure; 9499 "too many request" (9499 is
# also "Bad Request" for a malformed body, so only its rate-limit wording counts).
RATE_LIMIT_CODES = frozenset({11232})
RATE_LIMITED_RETRY = 60.0

# lark_md renders Markdown plus tags such as <at id=all></at> and <font>: alert text goes
# in as HTML character references, which lark_md shows literally.
_LARK_MD = str.maketrans({c: f"&#{ord(c)};" for c in "&<>*_~`[]()#\\"})


def sign(timestamp: int, secret: str) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def lark_md(value: object, limit: int = wording.FIELD_MAX) -> str:
    return wording.clean(value, limit).translate(_LARK_MD)


def card(message: Message) -> dict[str, Any]:
    words = wording.labels(message.language)
    title = lark_md(message.title, wording.TITLE_MAX)
    elements: list[dict[str, Any]] = [
        {
            "tag": "div",
            "text": {
                "tag": "lark_md",
                "content": f"**{wording.number(message)}{title}**",
            },
        },
        {
            "tag": "div",
            "fields": [
                {
                    "is_short": True,
                    "text": {"tag": "lark_md", "content": f"**{f.label}**\n{lark_md(f.value)}"},
                }
                for f in wording.fields(message)
            ],
        },
    ]
    lines = [lark_md(note, wording.NOTE_MAX) for note in wording.notes(message)]
    lines += [f"<at id={user}></at>" for user in wording.mentions(message)]
    if lines:
        elements.append({"tag": "div", "text": {"tag": "lark_md", "content": "\n".join(lines)}})
    elements.append({"tag": "hr"})
    link = wording.safe_link(message.link)
    if link is None:
        elements.append(
            {"tag": "note", "elements": [{"tag": "plain_text", "content": words.no_link}]}
        )
    else:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": wording.link_label(message)},
                        "type": "primary",
                        "url": link,
                    }
                ],
            }
        )
    return {
        "config": {"wide_screen_mode": True},
        "header": {
            # plain_text is shown as is (character references too), so no escaping;
            # angle brackets become look-alikes in case a client parses <at> anyway
            "title": {
                "tag": "plain_text",
                "content": wording.clean(message.headline, wording.TITLE_MAX).translate(
                    wording.ANGLES
                ),
            },
            "template": TEMPLATES.get(message.severity.strip().upper(), "grey"),
        },
        "elements": elements,
    }


def build(url: str, secret: str | None, message: Message, now: datetime) -> OutgoingRequest:
    payload: dict[str, Any] = {}
    if secret:
        timestamp = int(now.timestamp())
        payload["timestamp"] = str(timestamp)
        payload["sign"] = sign(timestamp, secret)
    payload["msg_type"] = "interactive"
    payload["card"] = card(message)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    return OutgoingRequest(url, {"Content-Type": "application/json; charset=utf-8"}, body)


def read(status: int, body: bytes, headers: Mapping[str, str]) -> Outcome:
    """HTTP 200 with ``code`` 0 (or the legacy ``StatusCode`` 0) is delivered; Feishu also
    answers errors with HTTP 400 and a code, so the code decides."""
    data = wording.json_object(body)
    if data is None:
        if status == 429:
            return Outcome(
                False, "feishu HTTP 429", wording.retry_after(headers, RATE_LIMITED_RETRY)
            )
        return Outcome(False, f"feishu HTTP {status}: {wording.snippet(body)}")
    code = wording.integer(data.get("code", data.get("StatusCode")))
    msg = wording.snippet(data.get("msg", data.get("StatusMessage", "")))
    if code == 0 and 200 <= status < 300:
        return Outcome(True, "feishu ok")
    detail = f"feishu HTTP {status} code {code}: {msg}"
    too_many = code == 9499 and "too many" in msg.lower()
    if status == 429 or code in RATE_LIMIT_CODES or too_many:
        return Outcome(False, detail, wording.retry_after(headers, RATE_LIMITED_RETRY))
    return Outcome(False, detail)
