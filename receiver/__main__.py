"""Command line: postmortem-receiver serve | migrate | check-config | incidents | replay |
inbox | notify test | drafts export."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import aiohttp
from aiohttp import web

from receiver import __version__
from receiver.app import create_app
from receiver.checks import LANGUAGES, drafts_dir_problem, template_problems
from receiver.config import ConfigError, Settings, load_settings
from receiver.drafts import write_atomically
from receiver.inbox_cli import run as inbox_command
from receiver.logconfig import configure_logging
from receiver.notify.compose import sample_message
from receiver.notify.delivery import deliver
from receiver.postmortem.render import DraftRenderer
from receiver.replay import ReplayClock, replay_inbox
from receiver.store import StoreUnavailable, open_configured_database, open_database
from receiver.store.engine import SchemaError
from receiver.usecases.errors import IncidentNotFound
from receiver.usecases.service import IncidentService, rules_from
from receiver.usecases.unit_of_work import utcnow
from receiver.web.params import MAX_ID, MAX_OFFSET, MAX_PAGE, bounded_int
from receiver.web.serialize import entry_json, episode_json, incident_summary
from receiver.web.server import run_app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="postmortem-receiver",
        description="Alertmanager webhook receiver that writes draft postmortems.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--config", type=Path, help="TOML file of settings (RECEIVER_* variables win)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP server")
    commands.add_parser("migrate", help="bring the database schema to this version")
    check = commands.add_parser(
        "check-config", help="validate settings and templates; exit 1 on any problem"
    )
    check.add_argument("--offline", action="store_true", help="do not connect to the database")
    incidents = commands.add_parser("incidents", help="look at stored incidents")
    which = incidents.add_subparsers(dest="action", required=True)
    listing = which.add_parser("list", help="newest incidents first")
    listing.add_argument("--limit", type=_bounded(1, MAX_OFFSET), default=20)
    listing.add_argument("--status")
    show = which.add_parser("show", help="one incident with its timeline, as JSON")
    show.add_argument("incident_id", type=_bounded(1, MAX_ID))
    show.add_argument("--markdown", action="store_true", help="print the current draft instead")
    replay = commands.add_parser("replay", help="re-apply stored webhooks and events (idempotent)")
    replay.add_argument("--since", type=_timestamp, help="only records received from then on")
    replay.add_argument(
        "--incident", type=_bounded(1, MAX_ID), dest="incident_id", help="only this incident's"
    )
    replay.add_argument(
        "--from-database",
        dest="from_database",
        help="read the inbox of another database (e.g. the old one) into the configured one",
    )
    inbox = commands.add_parser("inbox", help="webhooks and events the applier quarantined")
    inbox_which = inbox.add_subparsers(dest="action", required=True)
    inbox_list = inbox_which.add_parser("list", help="quarantined entries, oldest first")
    inbox_list.add_argument("--limit", type=_bounded(1, MAX_PAGE), default=100)
    for name, text in (
        ("show", "one entry: where it stands, its error and its body"),
        ("retry", "put a quarantined entry back in line (after a fix)"),
        ("drop", "delete a quarantined entry for good"),
    ):
        inbox_which.add_parser(name, help=text).add_argument("inbox_id", type=_bounded(1, MAX_ID))
    notify = commands.add_parser("notify", help="chat channels ([notify] in the config)")
    notify_which = notify.add_subparsers(dest="action", required=True)
    notify_test = notify_which.add_parser(
        "test", help="send a sample message to one channel and print the platform's answer"
    )
    notify_test.add_argument("channel", help="the channel's name in [[notify.channels]]")
    drafts = commands.add_parser("drafts", help="draft postmortems")
    drafts_which = drafts.add_subparsers(dest="action", required=True)
    export = drafts_which.add_parser("export", help="write drafts from the database to files")
    chosen = export.add_mutually_exclusive_group(required=True)
    chosen.add_argument(
        "--id", type=_bounded(1, MAX_ID), dest="incident_id", help="one incident's current draft"
    )
    chosen.add_argument("--all", action="store_true", help="every incident's current draft")
    export.add_argument(
        "--out",
        type=Path,
        default=None,
        help="directory (default: RECEIVER_DRAFTS_DIR, else ./drafts)",
    )
    return parser


def _bounded(low: int, high: int) -> Callable[[str], int]:
    """An integer argument in [low, high]: a 20-digit id is a usage error, not a query
    the database refuses (which would read as "store unavailable")."""

    def parse(value: str) -> int:
        number = bounded_int(value, low, high)
        if number is None:
            raise argparse.ArgumentTypeError(f"give an integer from {low} to {high}")
        return number

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"postmortem-receiver: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    try:
        if args.command == "serve":
            return _serve(settings)
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == "check-config":
            return asyncio.run(_check_config(settings, offline=args.offline))
        if args.command == "replay":
            return asyncio.run(_replay(settings, args))
        if args.command == "drafts":
            return asyncio.run(_export_drafts(settings, args))
        if args.command == "inbox":
            return asyncio.run(inbox_command(settings, args))
        if args.command == "notify":
            return asyncio.run(_notify_test(settings, args.channel))
        return asyncio.run(_incidents(settings, args))
    except (SchemaError, StoreUnavailable) as exc:
        print(f"postmortem-receiver: {exc}", file=sys.stderr)
        return 1


def _serve(settings: Settings) -> int:
    # a wrong zone silently shifts every time in every draft: say which one is in use
    print(zone_line(settings, utcnow()), file=sys.stderr, flush=True)
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)
    # web.run_app's behaviour, with aiohttp's own 400s (request line or header too long…)
    # answered as JSON like every other error
    run_app(
        app,
        # SIGTERM: stop accepting, let in-flight requests finish, then close the store
        shutdown_timeout=settings.shutdown_grace.total_seconds(),
        host=settings.host,
        port=settings.port,
        print_=lambda text: print(text, file=sys.stderr),
    )
    return 0


def zone_line(settings: Settings, now: datetime) -> str:
    offset = now.astimezone(settings.zone).strftime("%z")
    return (
        f"postmortem-receiver: times in drafts are in {settings.timezone} "
        f"(UTC{offset[:3]}:{offset[3:]} now; set with RECEIVER_TIMEZONE)"
    )


async def _freeze_startup_objects(app: web.Application) -> None:
    """Leave what startup built (modules, templates, compiled statements: most of the
    heap, and it lives as long as the process) out of every later garbage collection:
    under load a full collection walked all of it, and showed as the slowest requests."""
    gc.collect()
    gc.freeze()


async def _check_config(settings: Settings, *, offline: bool) -> int:
    """One line per check; every problem is named; exit 1 when there is any."""
    problems = template_problems(settings, rules_from(settings))
    if settings.drafts_dir is not None:
        problem = drafts_dir_problem(settings.drafts_dir)
        if problem:
            problems.append(problem)
    if not offline:
        database = open_configured_database(settings)
        try:
            state = await database.schema_state()
            if not state.is_current and not settings.auto_migrate:
                problems.append(
                    f"database schema is at {state.current or 'nothing'}, the code needs "
                    f"{state.head}; run `postmortem-receiver migrate`"
                )
        except StoreUnavailable as exc:
            problems.append(f"database {settings.database_url.split('@')[-1]}: {exc}")
        finally:
            await database.close()
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(
        f"ok: settings, templates ({', '.join(LANGUAGES)})"
        + ("" if settings.drafts_dir is None else ", drafts directory")
        + ("" if offline else ", database")
    )
    return 0


async def _migrate(settings: Settings) -> int:
    database = open_configured_database(settings)
    try:
        before = await database.schema_state()
        after = await database.migrate()
    finally:
        await database.close()
    if before.current == after.current:
        print(f"schema is current (revision {after.current})")
    else:
        print(f"migrated schema from {before.current or 'empty'} to {after.current}")
    return 0


async def _incidents(settings: Settings, args: argparse.Namespace) -> int:
    database = open_configured_database(settings)
    try:
        await database.migrate() if settings.auto_migrate else None
        service = IncidentService(database, settings, DraftRenderer(settings.template_dir))
        if args.action == "list":
            from receiver.domain.incident import IncidentStatus

            status = IncidentStatus(args.status) if args.status else None
            rows, total = await service.queries.list_incidents(
                limit=args.limit, offset=0, status=status
            )
            for incident in rows:
                print(
                    f"#{incident.id}\t{incident.status.value}\t{incident.priority}\t"
                    f"{incident.started_at:%Y-%m-%d %H:%M}\t{incident.service}\t{incident.title}"
                )
            print(f"({len(rows)} of {total})", file=sys.stderr)
            return 0
        try:
            if args.markdown:
                print((await service.queries.current_draft(args.incident_id)).markdown, end="")
                return 0
            detail = await service.queries.incident_detail(args.incident_id)
        except IncidentNotFound as exc:
            print(f"postmortem-receiver: {exc}", file=sys.stderr)
            return 1
        body = incident_summary(detail.incident)
        body["alerts"] = [episode_json(e) for e in detail.episodes]
        body["timeline"] = [entry_json(e) for e in detail.timeline]
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 0
    finally:
        await database.close()


async def _notify_test(settings: Settings, name: str) -> int:
    channel = settings.notify.channel(name)
    if channel is None:
        known = ", ".join(c.name for c in settings.notify.channels) or "none configured"
        print(f"postmortem-receiver: no channel {name!r} (channels: {known})", file=sys.stderr)
        return 2
    now = utcnow()
    message = sample_message(settings, now)
    async with aiohttp.ClientSession() as session:
        outcome = await deliver(session, channel, message, now, settings.notify.send_timeout)
    print(f"{name} ({channel.type}): {'ok' if outcome.ok else 'FAILED'} - {outcome.detail}")
    return 0 if outcome.ok else 1


def _timestamp(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-11-26T00:00:00Z")
    return moment


async def _replay(settings: Settings, args: argparse.Namespace) -> int:
    clock = ReplayClock()
    target_db = open_configured_database(settings)
    source_db = open_database(args.from_database) if args.from_database else target_db
    try:
        await target_db.migrate() if settings.auto_migrate else None
        renderer = DraftRenderer(settings.template_dir)
        target = IncidentService(target_db, settings, renderer, clock=clock)
        source = IncidentService(source_db, settings, renderer) if args.from_database else target
        report = await replay_inbox(
            source, target, clock, since=args.since, incident_id=args.incident_id
        )
    finally:
        if source_db is not target_db:
            await source_db.close()
        await target_db.close()
    print(
        f"replayed: {report.applied} applied, {report.unchanged} already applied, "
        f"{report.failed} failed"
    )
    return 1 if report.failed else 0


async def _export_drafts(settings: Settings, args: argparse.Namespace) -> int:
    out: Path = args.out or settings.drafts_dir or Path("./drafts")
    database = open_configured_database(settings)
    try:
        service = IncidentService(database, settings, DraftRenderer(settings.template_dir))
        if args.all:
            ids = await service.queries.incident_ids_with_drafts()
        else:
            ids = [args.incident_id]
        written = 0
        for incident_id in ids:
            try:
                draft = await service.queries.current_draft(incident_id)
            except IncidentNotFound as exc:
                print(f"postmortem-receiver: {exc}", file=sys.stderr)
                return 1
            path = await asyncio.to_thread(write_atomically, out, draft.file_name, draft.markdown)
            print(path)
            written += 1
        print(f"({written} drafts written to {out})", file=sys.stderr)
        return 0
    finally:
        await database.close()


if __name__ == "__main__":
    sys.exit(main())
