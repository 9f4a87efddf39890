"""Command line: postmortem-receiver serve | migrate | check-config | incidents | replay |
inbox | notify test | drafts export."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from receiver import __version__
from receiver.app import create_app
from receiver.cli.config_check import (
    database_problem,
    drafts_dir_problem,
    environment_problems,
    template_problems,
)
from receiver.cli.database import missing_sqlite_file, open_existing, shown_url
from receiver.cli.failures import (
    BROKEN_PIPE,
    FAILED,
    USAGE,
    UserError,
    config_line,
    explain,
)
from receiver.cli.inbox import run as inbox_command
from receiver.cli.incident_text import list_lines, summary_lines
from receiver.cli.parsing import (
    PARSERS,
    bounded,
    config_file_in,
    metavar,
    one_of,
    since,
    timestamp,
)
from receiver.cli.startup import open_api_warning, startup_line
from receiver.cli.texts import LANGUAGES, PROG, language_of, os_reason, say
from receiver.config import ConfigError, Settings, load_settings, unknown_variables
from receiver.domain.incident import PRIORITY_ORDER, IncidentStatus
from receiver.drafts import write_atomically
from receiver.evidence.slo_check import prometheus_problems, query_problems
from receiver.logconfig import configure_logging
from receiver.notify.compose import sample_message
from receiver.notify.delivery import deliver
from receiver.postmortem.render import DraftRenderer
from receiver.replay import ReplayClock, replay_inbox
from receiver.store import open_configured_database, open_database
from receiver.usecases.errors import DraftNotReady, IncidentNotFound
from receiver.usecases.service import IncidentService
from receiver.usecases.unit_of_work import utcnow
from receiver.web.params import MAX_ID, MAX_OFFSET, MAX_PAGE
from receiver.web.serialize import entry_json, episode_json, incident_summary
from receiver.web.server import run_app

# allocations between two collections of the young generation (Python's default is 700)
YOUNG_COLLECTION_THRESHOLD = 10_000


def _parser(language: str) -> argparse.ArgumentParser:
    def h(key: str, **values: object) -> str:
        return say(language, f"help_{key}", **values)

    parser = PARSERS[language](prog=PROG, description=say(language, "description"))
    parser.add_argument("--version", action="version", version=__version__, help=h("version"))
    parser.add_argument("--config", type=Path, metavar="FILE", help=h("config"))
    commands = parser.add_subparsers(dest="command", required=True, title=h("commands"))

    def command(group: Any, name: str, key: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(name, help=h(key), description=h(key))
        return sub

    command(commands, "serve", "serve")
    command(commands, "migrate", "migrate")
    check = command(commands, "check-config", "check_config")
    check.add_argument("--offline", action="store_true", help=h("offline"))
    incidents = command(commands, "incidents", "incidents")
    which = incidents.add_subparsers(dest="action", required=True)
    listing = command(which, "list", "incidents_list")
    listing.add_argument(
        "--limit", type=bounded(language, 1, MAX_OFFSET), default=20, help=h("limit", default=20)
    )
    statuses = [status.value for status in IncidentStatus]
    listing.add_argument(
        "--status", type=one_of(language, statuses), metavar=metavar(statuses), help=h("status")
    )
    listing.add_argument("--service", metavar="NAME", help=h("service"))
    listing.add_argument(
        "--priority",
        type=one_of(language, PRIORITY_ORDER),
        metavar=metavar(PRIORITY_ORDER),
        help=h("priority"),
    )
    listing.add_argument("--since", type=since(language), metavar="WHEN", help=h("since"))
    show = command(which, "show", "incidents_show")
    show.add_argument(
        "incident_id", type=bounded(language, 1, MAX_ID), metavar="ID", help=h("incident_id")
    )
    shown_as = show.add_mutually_exclusive_group()
    shown_as.add_argument("--json", action="store_true", help=h("json"))
    shown_as.add_argument("--markdown", action="store_true", help=h("markdown"))
    replay = command(commands, "replay", "replay")
    replay.add_argument("--since", type=timestamp(language), metavar="TIME", help=h("replay_since"))
    replay.add_argument(
        "--incident",
        type=bounded(language, 1, MAX_ID),
        dest="incident_id",
        metavar="ID",
        help=h("replay_incident"),
    )
    replay.add_argument(
        "--from-database", dest="from_database", metavar="URL", help=h("from_database")
    )
    inbox = command(commands, "inbox", "inbox")
    inbox_which = inbox.add_subparsers(dest="action", required=True)
    inbox_list = command(inbox_which, "list", "inbox_list")
    inbox_list.add_argument(
        "--limit", type=bounded(language, 1, MAX_PAGE), default=100, help=h("limit", default=100)
    )
    for name in ("show", "retry", "drop"):
        command(inbox_which, name, f"inbox_{name}").add_argument(
            "inbox_id", type=bounded(language, 1, MAX_ID), metavar="ID", help=h("inbox_id")
        )
    notify = command(commands, "notify", "notify")
    notify_which = notify.add_subparsers(dest="action", required=True)
    notify_test = command(notify_which, "test", "notify_test")
    notify_test.add_argument("channel", help=h("channel"))
    drafts = command(commands, "drafts", "drafts")
    drafts_which = drafts.add_subparsers(dest="action", required=True)
    export = command(drafts_which, "export", "drafts_export")
    chosen = export.add_mutually_exclusive_group(required=True)
    chosen.add_argument(
        "--id",
        type=bounded(language, 1, MAX_ID),
        dest="incident_id",
        metavar="ID",
        help=h("export_id"),
    )
    chosen.add_argument("--all", action="store_true", help=h("export_all"))
    export.add_argument("--out", type=Path, default=None, metavar="DIR", help=h("out"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    config_file = config_file_in(argv)
    language = language_of(os.environ, Path(config_file) if config_file else None)
    args = _parser(language).parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        problems = [config_line(language, problem) for problem in exc.problems]
        if args.command != "check-config":
            _say_failure(problems)
            return USAGE
        # every problem at once, the variables' too, as check-config lists them
        problems += [config_line(language, p) for p in unknown_variables(os.environ)]
        for problem in problems:
            print(say(language, "check_problem", problem=problem), file=sys.stderr)
        return USAGE
    unreadable = [
        config_line(language, problem) for problem in query_problems(settings, args.config)
    ]
    if unreadable and args.command in ("serve", "check-config"):
        # an SLO query that is not PromQL would fail every incident: refuse to start
        for problem in unreadable:
            print(say(language, "check_problem", problem=problem), file=sys.stderr)
        return USAGE
    configure_logging(settings.log_format, settings.log_level)
    try:
        code = _run(settings, args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        # the reader is gone (`| head`): nothing more can go to it, not even at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        _say_failure([say(settings.language, "broken_pipe")])
        return BROKEN_PIPE
    except Exception as exc:
        explained = explain(exc, settings.language, shown_url(settings.database_url))
        if explained is None:
            raise  # a bug: its traceback is what a report needs
        lines, code = explained
        _say_failure(lines)
        return code


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(settings)
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "check-config":
        return asyncio.run(_check_config(settings, offline=args.offline, config_file=args.config))
    if args.command == "replay":
        return asyncio.run(_replay(settings, args))
    if args.command == "drafts":
        return asyncio.run(_export_drafts(settings, args))
    if args.command == "inbox":
        return asyncio.run(inbox_command(settings, args))
    if args.command == "notify":
        return asyncio.run(_notify_test(settings, args.channel))
    return asyncio.run(_incidents(settings, args))


def _say_failure(lines: list[str]) -> None:
    for line in lines:
        print(f"{PROG}: {line}", file=sys.stderr)


def _serve(settings: Settings) -> int:
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)

    def listening(url: str) -> None:
        print(startup_line(settings, url, utcnow()), file=sys.stderr, flush=True)
        warning = open_api_warning(settings)
        if warning:
            print(f"{PROG}: {warning}", file=sys.stderr, flush=True)

    # web.run_app's behaviour, with aiohttp's own 400s (request line or header too long…)
    # answered as JSON like every other error
    run_app(
        app,
        # SIGTERM: stop accepting, let in-flight requests finish, then close the store
        shutdown_timeout=settings.shutdown_grace.total_seconds(),
        host=settings.host,
        port=settings.port,
        on_listening=listening,
    )
    return 0


async def _freeze_startup_objects(app: web.Application) -> None:
    """Leave what startup built (modules, templates, compiled statements: most of the
    heap, and it lives as long as the process) out of every later garbage collection:
    under load a full collection walked all of it, and showed as the slowest requests.
    And collect the young generation after 10,000 allocations instead of 700: each
    webhook allocates a few hundred short-lived objects, nearly none in cycles, so the
    default ran a collection every other request for nothing."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


async def _check_config(
    settings: Settings, *, offline: bool, config_file: Path | None = None
) -> int:
    """One line per problem, all of them; exit 1 when there is any. Creates nothing."""
    language = settings.language
    problems = environment_problems(settings, os.environ)
    problems += await asyncio.to_thread(template_problems, settings)
    drafts = await asyncio.to_thread(drafts_dir_problem, settings)
    problems += [drafts] if drafts else []
    database, exists = (None, True) if offline else await database_problem(settings)
    problems += [database] if database else []
    if not offline and settings.slos:
        async with aiohttp.ClientSession() as session:
            refused, unreachable = await prometheus_problems(
                session, settings, utcnow(), config_file
            )
        problems += [config_line(language, problem) for problem in refused]
        if unreachable:  # not a problem of the settings: Prometheus may be down right now
            print(say(language, "check_slo_unreachable", reason=unreachable), file=sys.stderr)
    for problem in problems:
        print(say(language, "check_problem", problem=problem), file=sys.stderr)
    if problems:
        return FAILED
    extra = "" if settings.drafts_dir is None else say(language, "check_drafts")
    if not offline:
        extra += say(language, "check_database" if exists else "check_database_new")
    print(say(language, "check_ok", languages=", ".join(LANGUAGES), extra=extra))
    return 0


async def _migrate(settings: Settings) -> int:
    database = open_configured_database(settings)
    try:
        before = await database.schema_state()
        after = await database.migrate()
    finally:
        await database.close()
    if before.current == after.current:
        print(say(settings.language, "schema_current", revision=after.current))
    else:
        empty = say(settings.language, "schema_empty")
        print(
            say(
                settings.language,
                "schema_migrated",
                before=before.current or empty,
                after=after.current,
            )
        )
    return 0


async def _incidents(settings: Settings, args: argparse.Namespace) -> int:
    database = await open_existing(settings, settings.language)
    try:
        service = IncidentService(database, settings, DraftRenderer(settings.template_dir))
        if args.action == "list":
            return await _list_incidents(settings, service, args)
        return await _show_incident(settings, service, args)
    except DraftNotReady as exc:
        raise UserError("no_draft", id=args.incident_id) from exc
    except IncidentNotFound as exc:
        raise UserError("no_incident", id=args.incident_id) from exc
    finally:
        await database.close()


async def _list_incidents(
    settings: Settings, service: IncidentService, args: argparse.Namespace
) -> int:
    rows, total = await service.queries.list_incidents(
        limit=args.limit,
        offset=0,
        status=IncidentStatus(args.status) if args.status else None,
        service=args.service,
        priority=args.priority,
        since=args.since.start(settings.zone, utcnow()) if args.since else None,
    )
    for line in list_lines(settings, rows):
        print(line)
    print(say(settings.language, "listed", shown=len(rows), total=total), file=sys.stderr)
    return 0


async def _show_incident(
    settings: Settings, service: IncidentService, args: argparse.Namespace
) -> int:
    if args.markdown:
        print((await service.queries.current_draft(args.incident_id)).markdown, end="")
        return 0
    if args.json:
        detail = await service.queries.incident_detail(args.incident_id)
        body = incident_summary(detail.incident)
        body["alerts"] = [episode_json(e) for e in detail.episodes]
        body["timeline"] = [entry_json(e) for e in detail.timeline]
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 0
    page = await service.queries.incident_page(args.incident_id)
    print("\n".join(summary_lines(settings, page)))
    return 0


async def _notify_test(settings: Settings, name: str) -> int:
    language = settings.language
    channel = settings.notify.channel(name)
    if channel is None:
        known = ", ".join(c.name for c in settings.notify.channels)
        raise UserError(
            "no_channel", USAGE, name=name, known=known or say(language, "none_configured")
        )
    now = utcnow()
    message = sample_message(settings, now)
    async with aiohttp.ClientSession() as session:
        outcome = await deliver(session, channel, message, now, settings.notify.send_timeout)
    result = say(language, "notify_ok" if outcome.ok else "notify_failed")
    print(f"{name} ({channel.type}): {result} - {outcome.detail}")
    return 0 if outcome.ok else FAILED


async def _replay(settings: Settings, args: argparse.Namespace) -> int:
    clock = ReplayClock()
    if args.from_database and (missing := missing_sqlite_file(args.from_database)):
        raise UserError("sqlite_missing", path=missing)
    # the target may be new: a replay into a fresh database is what it is for
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
        say(
            settings.language,
            "replayed",
            applied=report.applied,
            unchanged=report.unchanged,
            failed=report.failed,
        )
    )
    return FAILED if report.failed else 0


async def _export_drafts(settings: Settings, args: argparse.Namespace) -> int:
    out: Path = args.out or settings.drafts_dir or Path("./drafts")
    database = await open_existing(settings, settings.language)
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
            except DraftNotReady as exc:
                raise UserError("no_draft", id=incident_id) from exc
            except IncidentNotFound as exc:
                raise UserError("no_incident", id=incident_id) from exc
            try:
                path = await asyncio.to_thread(
                    write_atomically, out, draft.file_name, draft.markdown
                )
            except OSError as exc:
                reason = os_reason(settings.language, exc)
                raise UserError("out_unwritable", out=out, reason=reason) from exc
            print(path)
            written += 1
        print(say(settings.language, "exported", count=written, out=out), file=sys.stderr)
        return 0
    finally:
        await database.close()


if __name__ == "__main__":
    sys.exit(main())
