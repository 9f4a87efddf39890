"""`check-config`: every problem at once, without side effects. Nothing is created: no
database file, no drafts directory, no probe file; what does not exist yet is checked
by whether it could be made."""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from pathlib import Path

import jinja2

from receiver.cli.database import missing_sqlite_file, shown_url
from receiver.cli.failures import config_line, store_reason
from receiver.cli.texts import LANGUAGES, os_reason, say
from receiver.config import Settings, unknown_variables
from receiver.postmortem.options import render_options
from receiver.postmortem.render import DraftRenderer
from receiver.postmortem.sample import sample_draft_input
from receiver.store import StoreUnavailable, open_configured_database
from receiver.store.engine import head_revision
from receiver.usecases.service import rules_from


def environment_problems(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """RECEIVER_* variables that look like a misspelt setting: ignored otherwise."""
    return [config_line(settings.language, problem) for problem in unknown_variables(environ)]


def template_problems(settings: Settings) -> list[str]:
    """Render every language's template against a sample incident."""
    language = settings.language
    problems = []
    if settings.template_dir is not None and not settings.template_dir.is_dir():
        problems.append(say(language, "template_not_dir", path=settings.template_dir))
    renderer = DraftRenderer(settings.template_dir)
    rules = rules_from(settings)
    for template_language in LANGUAGES:
        name = renderer.template_name(template_language)
        options = render_options(settings, rules, template_language)
        try:
            text = renderer.render(sample_draft_input(), options)
        except jinja2.TemplateError as exc:
            where = (
                say(language, "template_line", line=exc.lineno)
                if isinstance(exc, jinja2.TemplateSyntaxError)
                else ""
            )
            error = f"{type(exc).__name__}: {exc}"
            problems.append(
                say(language, "template_failed", template=name, where=where, error=error)
            )
            continue
        if not text.strip():
            problems.append(say(language, "template_empty", template=name))
    return problems


def drafts_dir_problem(settings: Settings) -> str | None:
    if settings.drafts_dir is None:
        return None
    blocked = could_write(settings.drafts_dir)
    if blocked is None:
        return None
    reason = os_reason(settings.language, blocked)
    return say(settings.language, "drafts_dir_unwritable", path=settings.drafts_dir, reason=reason)


async def database_problem(settings: Settings) -> tuple[str | None, bool]:
    """What is wrong with the database, and whether it exists yet. A SQLite file that
    does not exist is not opened (that would create it): it is fine when its directory
    could be made and the first start migrates it."""
    language = settings.language
    missing = missing_sqlite_file(settings.database_url)
    if missing is not None:
        blocked = could_write(missing.parent)
        if blocked is not None:
            reason = os_reason(language, blocked)
            return say(language, "database_not_creatable", path=missing, reason=reason), False
        if not settings.auto_migrate:
            return _not_migrated(settings, None, ""), False
        return None, False
    database = open_configured_database(settings)
    try:
        state = await database.schema_state()
    except StoreUnavailable as exc:
        shown = shown_url(settings.database_url)
        reason = store_reason(language, exc)
        return say(language, "store_unavailable", database=shown, reason=reason), True
    finally:
        await database.close()
    if not state.is_current and not settings.auto_migrate:
        return _not_migrated(settings, state.current, state.head), True
    return None, True


def _not_migrated(settings: Settings, current: str | None, head: str) -> str:
    return say(
        settings.language,
        "not_migrated",
        database=shown_url(settings.database_url),
        current=current or say(settings.language, "schema_empty"),
        head=head or head_revision(),
    )


def could_write(directory: Path) -> OSError | None:
    """Why a file could not be written in `directory` (made with its parents if
    missing), or None; asked of the file system, not tried."""
    existing = directory
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        return OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
    if not os.access(existing, os.W_OK | os.X_OK):
        return OSError(errno.EACCES, os.strerror(errno.EACCES), str(existing))
    return None
