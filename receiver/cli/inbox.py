"""`postmortem-receiver inbox list|show|retry|drop`: the entries the applier quarantined,
in RECEIVER_LANGUAGE (the words are in texts.py, with every other line of the CLI)."""

from __future__ import annotations

import argparse
import sys

from receiver.cli.failures import UserError
from receiver.cli.texts import say
from receiver.config import Settings
from receiver.postmortem.render import DraftRenderer
from receiver.store import InboxEntry, open_configured_database
from receiver.usecases.service import IncidentService

# the entry's fields as `inbox show` prints them, each named by a text in texts.py
_FIELDS = ("id", "kind", "received", "state", "failures", "quarantined", "error")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    language = settings.language
    database = open_configured_database(settings)
    try:
        await database.migrate() if settings.auto_migrate else None
        service = IncidentService(database, settings, DraftRenderer(settings.template_dir))
        if args.action == "list":
            return await _list(service, language, args.limit)
        entry = await service.queries.inbox_entry(args.inbox_id)
        if entry is None:
            raise UserError("inbox_missing", id=args.inbox_id)
        if args.action == "show":
            body = await service.queries.inbox_body(entry.id)
            print(_describe(entry, language))
            print(f"{say(language, 'inbox_field_body')}:\n{body}")
            return 0
        if entry.state != "quarantined":
            state = say(language, f"inbox_state_{entry.state}")
            raise UserError("inbox_not_quarantined", id=entry.id, state=state)
        if args.action == "retry":
            await service.quarantine.retry(entry.id)
            print(say(language, "inbox_retried", id=entry.id))
        else:
            await service.quarantine.drop(entry.id)
            print(say(language, "inbox_dropped", id=entry.id))
        return 0
    finally:
        await database.close()


async def _list(service: IncidentService, language: str, limit: int) -> int:
    entries = await service.queries.quarantined(limit)
    for entry in entries:
        first_line = (entry.last_error or "").splitlines()[0:1]
        print(
            f"#{entry.id}\t{entry.kind}\t{entry.received_at:%Y-%m-%d %H:%M:%S}Z\t"
            f"{entry.attempts}\t{first_line[0][:120] if first_line else ''}"
        )
    backlog = await service.queries.inbox_backlog()
    counted = (
        say(language, "inbox_count", n=len(entries)) if entries else say(language, "inbox_none")
    )
    print(counted, file=sys.stderr)
    print(say(language, "inbox_backlog", n=backlog.entries), file=sys.stderr)
    return 0


def _describe(entry: InboxEntry, language: str) -> str:
    names = [say(language, f"inbox_field_{name}") for name in _FIELDS]
    values = (
        f"#{entry.id}",
        entry.kind,
        f"{entry.received_at:%Y-%m-%d %H:%M:%S}Z",
        say(language, f"inbox_state_{entry.state}"),
        str(entry.attempts),
        f"{entry.quarantined_at:%Y-%m-%d %H:%M:%S}Z" if entry.quarantined_at else "-",
        entry.last_error or "-",
    )
    return "\n".join(f"{name}: {value}" for name, value in zip(names, values, strict=False))
