"""Generic webhook: the message as JSON, for receivers of your own.

Request: ``POST`` with ``Content-Type: application/json`` and the body::

    {"version": 1, "event": "opened", "incident": {...}}

where ``incident`` holds the message's fields (``incident_id``, ``headline``, ``title``,
``severity``, ``service``, ``status``, ``started_at`` (ISO 8601, UTC), ``zone``,
``duration`` (seconds or null), ``acknowledged_by``, ``link``, ``language``, ``event``,
and ``notes`` (more lines: similar past incidents, an action item), ``mentions`` (chat
user ids from ``[notify].mentions``) and ``link_label``). A digest of action items
(``action_digest``) is about no one incident: its ``incident_id`` is 0.
Texts are passed through as data, not cut or escaped: escape them for your own output.

Headers:

- ``X-Postmortem-Timestamp``: the send time, Unix seconds.
- ``X-Postmortem-Signature`` (only when the channel has a secret):
  ``sha256=`` + the lowercase hex HMAC-SHA256, keyed with the secret (UTF-8), of the
  timestamp header's value, a ``.``, and the raw body bytes.

To verify: take the raw body before parsing it; compute
``hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256)
.hexdigest()``; compare with ``hmac.compare_digest`` against the header after
``sha256=``; and reject timestamps more than five minutes from your clock (replays).
Retries resend the same incident event with a new timestamp and signature.

Answers: any 2xx is delivered; 429 with ``Retry-After`` asks us to wait; anything else
is a failure that the sender retries with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime

from receiver.notify.message import Message
from receiver.notify.platforms import Outcome, OutgoingRequest, wording

VERSION = 1
TIMESTAMP_HEADER = "X-Postmortem-Timestamp"
SIGNATURE_HEADER = "X-Postmortem-Signature"
RATE_LIMITED_RETRY = 60.0


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def build(url: str, secret: str | None, message: Message, now: datetime) -> OutgoingRequest:
    document = {"version": VERSION, "event": message.event.value, "incident": message.to_json()}
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8",
        "replace",  # a lone surrogate becomes "?" rather than an unsendable body
    )
    timestamp = int(now.timestamp())
    headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: str(timestamp)}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    return OutgoingRequest(url, headers, body)


def read(status: int, body: bytes, headers: Mapping[str, str]) -> Outcome:
    if 200 <= status < 300:
        return Outcome(True, f"webhook HTTP {status}")
    detail = f"webhook HTTP {status}: {wording.snippet(body)}"
    if status == 429:
        return Outcome(False, detail, wording.retry_after(headers, RATE_LIMITED_RETRY))
    return Outcome(False, detail)
