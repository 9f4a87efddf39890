"""The review pages' banner while notifications wait in the inbox or sit in quarantine."""

from __future__ import annotations

from aiohttp import web

from receiver.store import StoreUnavailable
from receiver.web.keys import SERVICE, SETTINGS


def notice_lines(language: str, backlog: int, quarantined: int) -> list[str]:
    lines = []
    if language == "zh":
        if backlog:
            lines.append(f"{backlog} 条通知尚未应用，本页可能还未显示它们。")
        if quarantined:
            lines.append(
                f"{quarantined} 条通知已隔离（多次应用失败），"
                "请用 postmortem-receiver inbox list 查看。"
            )
        return lines
    if backlog:
        plural = "s" if backlog != 1 else ""
        lines.append(f"{backlog} notification{plural} not yet applied; this page may lack them.")
    if quarantined:
        plural = "s" if quarantined != 1 else ""
        lines.append(
            f"{quarantined} notification{plural} quarantined (applying kept failing); "
            "see postmortem-receiver inbox list."
        )
    return lines


async def inbox_notice(request: web.Request) -> list[str]:
    """Nothing when the inbox is empty, or when the store cannot say (the page itself
    will tell)."""
    queries = request.app[SERVICE].queries
    try:
        backlog = await queries.inbox_backlog()
        quarantined = await queries.quarantined_count()
    except StoreUnavailable:
        return []
    return notice_lines(request.app[SETTINGS].language, backlog.entries, quarantined)
