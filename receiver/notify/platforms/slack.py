"""Slack incoming webhook: Block Kit blocks with a plain ``text`` fallback.

Docs: https://api.slack.com/messaging/webhooks (answers and errors),
https://api.slack.com/reference/block-kit/blocks (limits),
https://api.slack.com/reference/surfaces/formatting#escaping (mrkdwn escaping).

No signature: the webhook URL is the credential. Slack answers 200 with the body ``ok``;
errors are other statuses with a short code as the body (``invalid_payload``,
``no_service``, ``channel_is_archived``…); 429 carries Retry-After. Limit: about one
message per second per webhook, short bursts allowed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from receiver.notify.message import Message
from receiver.notify.platforms import Outcome, OutgoingRequest, wording

HEADER_MAX = 150  # a header block's plain_text
RATE_LIMITED_RETRY = 30.0  # when a 429 has no usable Retry-After
_MRKDWN = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def mrkdwn(value: object, limit: int = wording.FIELD_MAX) -> str:
    """Alert text in mrkdwn: Slack's three control characters escaped, so no <!channel>,
    <@U…> mention or <url|link> can come from an alert."""
    return wording.clean(value, limit).translate(_MRKDWN)


def payload(message: Message) -> dict[str, Any]:
    words = wording.labels(message.language)
    headline = wording.clean(message.headline, HEADER_MAX)
    title = wording.title_line(message)
    blocks: list[dict[str, Any]] = [
        # plain_text is shown as is: cleaned and cut, not escaped
        {"type": "header", "text": {"type": "plain_text", "text": headline, "emoji": False}},
        {"type": "section", "text": {"type": "plain_text", "text": title, "emoji": False}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{f.label}*\n{mrkdwn(f.value)}"}
                for f in wording.fields(message)
            ],
        },
    ]
    lines = [mrkdwn(note, wording.NOTE_MAX) for note in wording.notes(message)]
    mentioned = " ".join(f"<@{user}>" for user in wording.mentions(message))
    if lines or mentioned:
        text = "\n".join([*lines, mentioned] if mentioned else lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    link = wording.safe_link(message.link)
    if link is None:
        blocks.append(
            {"type": "context", "elements": [{"type": "plain_text", "text": words.no_link}]}
        )
    else:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": wording.link_label(message)},
                        "url": link,
                        "style": "primary",
                    }
                ],
            }
        )
    # The fallback: notifications and clients without blocks show it (as mrkdwn).
    text = f"[{mrkdwn(message.severity)}] {mrkdwn(headline)}: {mrkdwn(title, 250)}"
    return {"text": text, "blocks": blocks}


def build(url: str, secret: str | None, message: Message, now: datetime) -> OutgoingRequest:
    body = json.dumps(payload(message), ensure_ascii=False, separators=(",", ":"))
    return OutgoingRequest(
        url,
        {"Content-Type": "application/json; charset=utf-8"},
        body.encode("utf-8", "replace"),
    )


def read(status: int, body: bytes, headers: Mapping[str, str]) -> Outcome:
    text = wording.snippet(body)
    if status == 200 and text == "ok":
        return Outcome(True, "slack ok")
    detail = f"slack HTTP {status}: {text}"
    if status == 429:
        return Outcome(False, detail, wording.retry_after(headers, RATE_LIMITED_RETRY))
    return Outcome(False, detail)
