"""The `[notify]` part of the settings: channels, routes and which events to send.

Channel URLs are secrets too (Slack's and DingTalk's carry their token), so each URL and
signing secret comes from the file itself, an environment variable or a file (a mounted
Kubernetes secret): `url`, `url_env` or `url_file`; `secret`, `secret_env` or
`secret_file`.
"""

from __future__ import annotations

import enum
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from receiver.units import parse_duration


class NotifyEvent(enum.StrEnum):
    """What a channel can be told about an incident; a route names them in `events`."""

    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    DRAFT_WRITTEN = "draft_written"  # the first revision
    DRAFT_REVISED = "draft_revised"
    STALE = "stale"
    APPROVED = "approved"
    ACTION_REMINDER = "action_reminder"  # an action item due soon or overdue (issue 21)
    ACTION_DIGEST = "action_digest"  # the weekly list of open and overdue items


ChannelType = Literal["feishu", "dingtalk", "wecom", "slack", "webhook"]
# a platform's user id: nothing that could end a mention tag or start markup
MentionId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@:-]{1,64}$")]
ALL_EVENTS = tuple(NotifyEvent)
_MATCHER = re.compile(
    r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|(\S*))\s*$'
)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _one_source(name: str, value: Any, env: str | None, file: Path | None) -> None:
    given = [source for source in (value, env, file) if source is not None]
    if len(given) > 1:
        raise ValueError(f"set one of {name}, {name}_env and {name}_file, not several")
    if env is not None and not os.environ.get(env):
        raise ValueError(f"{name}_env names {env}, which is not set")
    if file is not None and not file.is_file():
        raise ValueError(f"{name}_file {file} is not a readable file")


def _read(value: SecretStr | None, env: str | None, file: Path | None) -> str | None:
    if value is not None:
        return value.get_secret_value()
    if env is not None:
        return os.environ[env].strip()
    if file is not None:
        return file.read_text(encoding="utf-8").strip()
    return None


class ChannelSettings(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
    type: ChannelType
    url: SecretStr | None = None
    url_env: str | None = None
    url_file: Path | None = None
    secret: SecretStr | None = None
    secret_env: str | None = None
    secret_file: Path | None = None
    # messages a minute; None: the platform's documented limit
    rate_per_minute: Annotated[int, Field(gt=0, le=6000)] | None = None

    @model_validator(mode="after")
    def _check_sources(self) -> ChannelSettings:
        _one_source("url", self.url, self.url_env, self.url_file)
        _one_source("secret", self.secret, self.secret_env, self.secret_file)
        if self.url is None and self.url_env is None and self.url_file is None:
            raise ValueError(f"channel {self.name}: set url, url_env or url_file")
        url = self.resolved_url()
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"channel {self.name}: the URL must be http(s)")
        return self

    def resolved_url(self) -> str:
        url = _read(self.url, self.url_env, self.url_file)
        assert url is not None
        return url

    def resolved_secret(self) -> str | None:
        return _read(self.secret, self.secret_env, self.secret_file)


class Matcher(_Strict):
    """One Alertmanager-style matcher: `service="payments"`, `severity=~"P0|P1"`."""

    name: str
    op: Literal["=", "!=", "=~", "!~"]
    value: str

    @classmethod
    def parse(cls, text: str) -> Matcher:
        found = _MATCHER.match(text)
        if found is None:
            raise ValueError(f'bad matcher {text!r}: use name="value", !=, =~ or !~')
        name, op, quoted, bare = found.groups()
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        matcher = cls(name=name, op=op, value=value)
        if op in ("=~", "!~"):
            try:
                re.compile(value)  # fail at start, not at the first incident
            except re.error as exc:
                raise ValueError(f"bad regular expression in matcher {text!r}: {exc}") from exc
        return matcher

    def matches(self, labels: dict[str, str]) -> bool:
        have = labels.get(self.name, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        # anchored, as in Alertmanager
        found = re.fullmatch(self.value, have) is not None
        return found if self.op == "=~" else not found


class RouteSettings(_Strict):
    matchers: list[Matcher] = Field(default_factory=list)
    channels: list[str]
    events: list[NotifyEvent] | None = None  # None: [notify].events
    # like Alertmanager's `continue`: look at later routes too after this one matched
    continue_: bool = Field(default=False, alias="continue")

    @field_validator("matchers", mode="before")
    @classmethod
    def _parse_matchers(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [Matcher.parse(v) if isinstance(v, str) else v for v in value]
        return value


class NotifySettings(_Strict):
    channels: list[ChannelSettings] = Field(default_factory=list)
    routes: list[RouteSettings] = Field(default_factory=list)
    # where an incident goes when no route matches
    default_channels: list[str] = Field(default_factory=list)
    events: list[NotifyEvent] = Field(default_factory=lambda: list(ALL_EVENTS))
    give_up_after: timedelta = timedelta(hours=1)
    send_timeout: timedelta = timedelta(seconds=10)
    # action item owners as chat users, for @mentions in reminders (issue 21): an owner's
    # name → one user id for every platform, or a table of platform → user id
    mentions: dict[str, MentionId | dict[ChannelType, MentionId]] = Field(default_factory=dict)

    @field_validator("give_up_after", "send_timeout", mode="before")
    @classmethod
    def _parse_durations(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @model_validator(mode="after")
    def _check_names(self) -> NotifySettings:
        names = [c.name for c in self.channels]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"channel names must be unique: {', '.join(duplicated)}")
        used = set(self.default_channels).union(*(r.channels for r in self.routes))
        unknown = sorted(used - set(names))
        if unknown:
            raise ValueError(f"routes name unknown channels: {', '.join(unknown)}")
        return self

    def channel(self, name: str) -> ChannelSettings | None:
        return next((c for c in self.channels if c.name == name), None)

    def mention_of(self, owner: str, channel: str) -> str | None:
        """The chat user id to @mention for an item's owner on this channel, if mapped."""
        found = self.mentions.get(owner)
        settings = self.channel(channel)
        if isinstance(found, dict):
            return found.get(settings.type) if settings else None
        return found
