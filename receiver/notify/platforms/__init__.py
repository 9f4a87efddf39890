"""The per-platform layer of chat notifications: a `Message` becomes one HTTP request in
the platform's own format (signed where the platform signs), and the platform's answer
becomes an `Outcome`. Pure: no I/O here; the sender posts the request and hands back
status, body and headers.

One small module per platform (feishu, dingtalk, wecom, slack, webhook), each with
`build(url, secret, message, now)` and `read(status, body, headers)`; `wording` holds the
shared, localized words and text hygiene.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from receiver.notify.message import Message


class ChannelKind(enum.StrEnum):
    FEISHU = "feishu"  # also Lark: same custom-bot API on open.larksuite.com
    DINGTALK = "dingtalk"
    WECOM = "wecom"
    SLACK = "slack"
    WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """A POST to make. `url` may carry a signature (DingTalk) and always carries the
    channel's token: never log it."""

    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the platform said. `detail` is safe to log: never the URL, token or secret.
    `retry_after` (seconds) is set when the platform asked us to slow down."""

    ok: bool
    detail: str
    retry_after: float | None = None


# Each platform's documented sending limit per channel (one bot / one webhook URL):
# - Feishu/Lark custom bot: 100 per minute and 5 per second per bot (keep bursts <= 5)
# - DingTalk custom robot: 20 per minute; beyond that it is throttled for 10 minutes
# - WeCom group robot: 20 per minute
# - Slack incoming webhook: 1 per second, short bursts allowed
# - generic webhook: ours to choose; generous, receivers are usually our own services
DEFAULT_RATE_PER_MINUTE: dict[ChannelKind, int] = {
    ChannelKind.FEISHU: 100,
    ChannelKind.DINGTALK: 20,
    ChannelKind.WECOM: 20,
    ChannelKind.SLACK: 60,
    ChannelKind.WEBHOOK: 600,
}


class _Platform(Protocol):
    def build(
        self, url: str, secret: str | None, message: Message, now: datetime
    ) -> OutgoingRequest: ...

    def read(self, status: int, body: bytes, headers: Mapping[str, str]) -> Outcome: ...


def _platform(kind: ChannelKind) -> _Platform:
    # Imported here: the platform modules import OutgoingRequest/Outcome from this package.
    from receiver.notify.platforms import dingtalk, feishu, slack, webhook, wecom

    modules: dict[ChannelKind, _Platform] = {
        ChannelKind.FEISHU: feishu,
        ChannelKind.DINGTALK: dingtalk,
        ChannelKind.WECOM: wecom,
        ChannelKind.SLACK: slack,
        ChannelKind.WEBHOOK: webhook,
    }
    return modules[ChannelKind(kind)]


def build_request(
    kind: ChannelKind, url: str, secret: str | None, message: Message, now: datetime
) -> OutgoingRequest:
    """The request that posts `message` to the channel; `now` (aware) signs it."""
    return _platform(kind).build(url, secret or None, message, now)


def read_answer(kind: ChannelKind, status: int, body: bytes, headers: Mapping[str, str]) -> Outcome:
    """The platform's answer as an Outcome. Never raises, whatever the bytes."""
    try:
        return _platform(kind).read(status, body, headers)
    except Exception as exc:  # the contract: an unreadable answer is a failure, not a crash
        return Outcome(False, f"HTTP {status}: unreadable answer ({type(exc).__name__})")
