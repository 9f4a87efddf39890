"""Sending one message to one chat channel: the request, the platform's answer, the retry delay.

Nothing here raises for what the network or the platform does, and nothing touches the
database: the outbox worker claims rows and records what this says.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import aiohttp

from receiver.config.notify import ChannelSettings
from receiver.notify.message import Message
from receiver.notify.platforms import (
    DEFAULT_RATE_PER_MINUTE,
    ChannelKind,
    Outcome,
    build_request,
    read_answer,
)

MAX_BACKOFF = timedelta(minutes=5)
FIRST_BACKOFF = timedelta(seconds=2)
_DETAIL_LIMIT = 300


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """2 s, 4 s, 8 s … capped at 5 minutes; never sooner than the platform asked."""
    delay: timedelta = min(FIRST_BACKOFF * (1 << min(max(0, attempts - 1), 16)), MAX_BACKOFF)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def rate_of(channel: ChannelSettings) -> int:
    return channel.rate_per_minute or DEFAULT_RATE_PER_MINUTE[ChannelKind(channel.type)]


def redact(text: str, channel: ChannelSettings) -> str:
    """Error texts may quote the URL (whose query or path is a token) or the secret."""
    url = channel.resolved_url()
    secret = channel.resolved_secret()
    for sensitive in filter(None, (url, url.partition("?")[2], secret)):
        text = text.replace(sensitive, "<redacted>")
    return text[:_DETAIL_LIMIT]


async def deliver(
    session: aiohttp.ClientSession,
    channel: ChannelSettings,
    message: Message,
    now: datetime,
    send_timeout: timedelta,
) -> Outcome:
    """POST one message to one channel and read the platform's answer; never raises for
    what the network or the platform does."""
    kind = ChannelKind(channel.type)
    request = build_request(kind, channel.resolved_url(), channel.resolved_secret(), message, now)
    try:
        async with session.post(
            request.url,
            data=request.body,
            headers=request.headers,
            timeout=aiohttp.ClientTimeout(total=send_timeout.total_seconds()),
            allow_redirects=False,
        ) as response:
            body = await response.content.read(64 * 1024)
            outcome = read_answer(kind, response.status, body, response.headers)
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        outcome = Outcome(ok=False, detail=f"network error: {type(exc).__name__}: {exc}")
    return Outcome(outcome.ok, redact(outcome.detail, channel), outcome.retry_after)
