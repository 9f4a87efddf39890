"""`postmortem-receiver inbox list|show|retry|drop`: the entries the applier quarantined,
in RECEIVER_LANGUAGE."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from receiver.config import Settings
from receiver.postmortem.render import DraftRenderer
from receiver.store import InboxEntry, open_configured_database
from receiver.usecases.service import IncidentService

TEXT: dict[str, dict[str, Any]] = {
    "zh": {
        "none": "没有隔离中的条目",
        "count": "（共 {n} 条隔离中的条目）",
        "backlog": "待应用：{n} 条",
        "missing": "没有编号为 {id} 的收件箱条目",
        "not_quarantined": "条目 #{id} 未被隔离（状态：{state}），无需处理",
        "retried": "条目 #{id} 已放回队列，应用器将重新应用它",
        "dropped": "条目 #{id} 已永久删除",
        "state": {
            "pending": "待应用",
            "applied": "已应用",
            "refused": "已拒绝",
            "quarantined": "已隔离",
        },
        "fields": ("编号", "类型", "接收时间", "状态", "失败次数", "隔离时间", "错误", "内容"),
    },
    "en": {
        "none": "no quarantined entries",
        "count": "({n} quarantined entries)",
        "backlog": "not yet applied: {n}",
        "missing": "no inbox entry {id}",
        "not_quarantined": "entry #{id} is not quarantined (state: {state}); nothing to do",
        "retried": "entry #{id} is back in line; the applier will apply it again",
        "dropped": "entry #{id} deleted for good",
        "state": {
            "pending": "pending",
            "applied": "applied",
            "refused": "refused",
            "quarantined": "quarantined",
        },
        "fields": (
            "id",
            "kind",
            "received",
            "state",
            "failures",
            "quarantined",
            "error",
            "body",
        ),
    },
}


async def run(settings: Settings, args: argparse.Namespace) -> int:
    text = TEXT[settings.language]
    database = open_configured_database(settings)
    try:
        await database.migrate() if settings.auto_migrate else None
        service = IncidentService(database, settings, DraftRenderer(settings.template_dir))
        if args.action == "list":
            return await _list(service, text, args.limit)
        entry = await service.queries.inbox_entry(args.inbox_id)
        if entry is None:
            missing = text["missing"].format(id=args.inbox_id)
            print(f"postmortem-receiver: {missing}", file=sys.stderr)
            return 1
        if args.action == "show":
            body = await service.queries.inbox_body(entry.id)
            print(_describe(entry, text))
            print(f"{text['fields'][7]}:\n{body}")
            return 0
        if entry.state != "quarantined":
            state = text["state"][entry.state]
            message = text["not_quarantined"].format(id=entry.id, state=state)
            print(f"postmortem-receiver: {message}", file=sys.stderr)
            return 1
        if args.action == "retry":
            await service.quarantine.retry(entry.id)
            print(text["retried"].format(id=entry.id))
        else:
            await service.quarantine.drop(entry.id)
            print(text["dropped"].format(id=entry.id))
        return 0
    finally:
        await database.close()


async def _list(service: IncidentService, text: dict[str, Any], limit: int) -> int:
    entries = await service.queries.quarantined(limit)
    for entry in entries:
        first_line = (entry.last_error or "").splitlines()[0:1]
        print(
            f"#{entry.id}\t{entry.kind}\t{entry.received_at:%Y-%m-%d %H:%M:%S}Z\t"
            f"{entry.attempts}\t{first_line[0][:120] if first_line else ''}"
        )
    backlog = await service.queries.inbox_backlog()
    print(text["count"].format(n=len(entries)) if entries else text["none"], file=sys.stderr)
    print(text["backlog"].format(n=backlog.entries), file=sys.stderr)
    return 0


def _describe(entry: InboxEntry, text: dict[str, Any]) -> str:
    names = text["fields"]
    values = (
        f"#{entry.id}",
        entry.kind,
        f"{entry.received_at:%Y-%m-%d %H:%M:%S}Z",
        text["state"][entry.state],
        str(entry.attempts),
        f"{entry.quarantined_at:%Y-%m-%d %H:%M:%S}Z" if entry.quarantined_at else "-",
        entry.last_error or "-",
    )
    return "\n".join(f"{name}: {value}" for name, value in zip(names, values, strict=False))
