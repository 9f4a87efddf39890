"""argparse in the receiver's language: a usage error is one line saying what is wrong and
where to read more, and each option's value is checked with a message of our own."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NoReturn

from receiver.cli.since import Since, parse_since
from receiver.cli.texts import PROG, say, usage_message
from receiver.web.params import bounded_int


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose -h and errors speak `language` (its subclasses')."""

    language = "en"

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.add_argument(
            "-h",
            "--help",
            action="help",
            default=argparse.SUPPRESS,
            help=say(self.language, "help_help"),
        )

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: {usage_message(self.language, message, self.prog)}\n")


class ChineseParser(CommandParser):
    language = "zh"


class EnglishParser(CommandParser):
    language = "en"


PARSERS: dict[str, type[CommandParser]] = {"zh": ChineseParser, "en": EnglishParser}


def config_file_in(argv: Sequence[str] | None) -> str | None:
    """--config, read before the whole command line is: it may name the language. Read
    by hand: a parser here would refuse a bad command line before it could be said in
    the right language."""
    args = list(sys.argv[1:] if argv is None else argv)
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg.startswith("--config="):
            return arg.partition("=")[2]
        if arg == "--config" and index + 1 < len(args):
            return args[index + 1]
    return None


def bounded(language: str, low: int, high: int) -> Callable[[str], int]:
    """An integer argument in [low, high]: a 20-digit id is a usage error, not a query
    the database refuses (which would read as "store unavailable")."""

    def parse(value: str) -> int:
        number = bounded_int(value, low, high)
        if number is None:
            raise argparse.ArgumentTypeError(say(language, "bad_integer", low=low, high=high))
        return number

    return parse


def one_of(language: str, values: Sequence[str]) -> Callable[[str], str]:
    """A value from a fixed set, refused in the language (argparse's `choices` would
    refuse in English); the help lists the set through the option's metavar."""

    def parse(value: str) -> str:
        if value not in values:
            raise argparse.ArgumentTypeError(
                say(language, "bad_choice", value=value, choices=", ".join(values))
            )
        return value

    return parse


def since(language: str) -> Callable[[str], Since]:
    def parse(value: str) -> Since:
        found = parse_since(value)
        if found is None:
            raise argparse.ArgumentTypeError(say(language, "bad_since", value=value))
        return found

    return parse


def timestamp(language: str) -> Callable[[str], datetime]:
    def parse(value: str) -> datetime:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise argparse.ArgumentTypeError(say(language, "bad_timestamp", value=value))
        return moment

    return parse


def metavar(values: Sequence[str]) -> str:
    return "{" + ",".join(values) + "}"
