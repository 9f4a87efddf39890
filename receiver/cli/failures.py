"""A person's mistake, said in one line with what to do, instead of a traceback."""

from __future__ import annotations

import errno
from typing import Any

import jinja2

from receiver.cli.texts import SETTING_ERRORS_ZH, os_reason, say
from receiver.config import ConfigError, ConfigProblem
from receiver.postmortem.render import TemplateNotFound
from receiver.store import SchemaError, StoreUnavailable
from receiver.web.server import ListenError

# exit codes: 1 the command could not do its work, 2 it was asked wrongly (argparse's)
FAILED = 1
USAGE = 2
# a reader that went away (`| head`): what a process killed by SIGPIPE exits with
BROKEN_PIPE = 141


class UserError(Exception):
    """Something the person can put right: `key` names the text that says what."""

    def __init__(self, key: str, exit_code: int = FAILED, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.exit_code = exit_code
        self.values = values

    def line(self, language: str) -> str:
        return say(language, self.key, **self.values)


def explain(exc: BaseException, language: str, database: str) -> tuple[list[str], int] | None:
    """The lines that say what went wrong and the exit code, for the failures a person
    can put right; None for a bug (which keeps its traceback). `database`: the URL in
    use, password hidden."""
    if isinstance(exc, UserError):
        return [exc.line(language)], exc.exit_code
    if isinstance(exc, ConfigError):
        return [config_line(language, problem) for problem in exc.problems], USAGE
    if isinstance(exc, jinja2.TemplateError | TemplateNotFound):
        error = f"{type(exc).__name__}: {exc}"
        return [say(language, "template_broken", error=" ".join(error.split()))], FAILED
    if isinstance(exc, ListenError):
        return [listen_line(language, exc.listen, exc.cause)], FAILED
    if isinstance(exc, SchemaError):
        return [
            say(
                language,
                "schema_unknown",
                database=database,
                current=exc.current,
                head=exc.head,
            )
        ], FAILED
    if isinstance(exc, StoreUnavailable):
        return [
            say(
                language, "store_unavailable", database=database, reason=store_reason(language, exc)
            )
        ], FAILED
    return None


def store_reason(language: str, exc: StoreUnavailable) -> str:
    """Why the database could not be used: the system's reason when a socket or file
    said one, else the driver's first line."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno:
            return os_reason(language, cause)
        cause = cause.__cause__ or cause.__context__
    return str(exc)


def listen_line(language: str, listen: str, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return say(language, "port_in_use", listen=listen)
    return say(language, "listen_failed", listen=listen, reason=os_reason(language, exc))


def config_line(language: str, problem: ConfigProblem) -> str:
    """One problem of the settings, by the name it was given under."""
    suggestions = problem.context.get("suggestions") or []
    if problem.kind == "unknown_key" and problem.source == "environment":
        hint = say(language, "did_you_mean", names=" / ".join(suggestions))
        return say(language, "variable_unknown", name=problem.name, hint=hint)
    if problem.kind == "unreadable_file":
        reason = OSError(problem.context.get("errno"), problem.detail)
        return say(
            language, "config_unreadable", name=problem.name, reason=os_reason(language, reason)
        )
    if problem.kind == "invalid_toml":
        return say(language, "config_not_toml", name=problem.name, detail=problem.detail)
    if problem.kind == "unparsable_variable":
        return say(language, "config_variable", detail=problem.detail)
    if problem.kind in ("unknown_key", "extra_forbidden"):
        hint = (
            say(language, "did_you_mean", names=" / ".join(suggestions))
            if suggestions
            else say(language, "no_such_setting")
        )
        if problem.source == "file":
            return say(language, "config_unknown", name=problem.name, file=problem.file, hint=hint)
        return say(language, "variable_unknown", name=problem.name, hint=hint)
    detail = _detail(language, problem)
    if not problem.name:
        return say(language, "config_whole", detail=detail)
    where = say(language, "config_in_file", file=problem.file) if problem.source == "file" else ""
    return say(language, "config_value", name=problem.name, where=where, detail=detail)


def _detail(language: str, problem: ConfigProblem) -> str:
    text = SETTING_ERRORS_ZH.get(problem.kind) if language == "zh" else None
    if text is None:
        return problem.detail
    try:
        # pydantic's list of allowed values ends "'a', 'b' or 'c'"
        context = {
            key: str(value).replace(" or ", " 或 ") for key, value in problem.context.items()
        }
        return text.format(detail=problem.detail, **context)
    except KeyError:  # a context this text does not expect: pydantic's words then
        return problem.detail
