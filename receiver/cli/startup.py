"""What `serve` says once it listens: where, on which database, writing where, in which
zone and language, and who may call /api; and a warning when anyone may."""

from __future__ import annotations

import ipaddress
from datetime import datetime

from receiver.cli.database import shown_url
from receiver.cli.texts import say
from receiver.config import Settings


def startup_line(settings: Settings, url: str, now: datetime) -> str:
    # a wrong zone silently shifts every time in every draft: say which one is in use
    offset = now.astimezone(settings.zone).strftime("%z")
    language = settings.language
    return say(
        language,
        "started",
        url=url,
        database=shown_url(settings.database_url),
        drafts=settings.drafts_dir if settings.drafts_dir else say(language, "no_drafts_dir"),
        zone=settings.timezone,
        offset=f"{offset[:3]}:{offset[3:]}",
        language=language,
        auth=auth_mode(settings),
    )


def auth_mode(settings: Settings) -> str:
    tokens = len(settings.api_tokens())
    user = settings.basic_auth_user
    if tokens and user:
        return say(settings.language, "auth_both", count=tokens, user=user)
    if tokens:
        return say(settings.language, "auth_token", count=tokens)
    if user:
        return say(settings.language, "auth_basic", user=user)
    return say(settings.language, "auth_none")


def open_api_warning(settings: Settings) -> str | None:
    """A warning when /api takes no credentials and other machines can reach it."""
    if settings.api_tokens() or settings.basic_auth_user or is_loopback(settings.host):
        return None
    return say(settings.language, "open_api", host=settings.host or "*")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve to anything
        return False
