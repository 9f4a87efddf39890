"""A refused form's problems in the receiver's language: each field by its label on the
page, and what is wrong in words, not pydantic's English."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from receiver.web.pages.ui_text import FIELD_LABELS, UI

# pydantic's error types, grouped by what a person has to do about them
_PROBLEMS = {
    "date": (
        "date_from_datetime_parsing",
        "date_parsing",
        "date_type",
        "date_from_datetime_inexact",
    ),
    "too_long": ("string_too_long", "too_long"),
    "missing": ("missing", "string_too_short"),
    "choice": ("enum", "literal_error"),
}


def form_problems(exc: ValidationError, language: str) -> str:
    text = UI[language]
    return text["list_sep"].join(
        text["invalid_field"].format(
            field=_where(error["loc"], language), problem=_what(error, text)
        )
        for error in exc.errors(include_url=False, include_input=False)
    )


def _where(loc: tuple[int | str, ...], language: str) -> str:
    """`("actions", 0, "due")` → `行动计划 第 1 项 · 截止日期`."""
    labels, text = FIELD_LABELS[language], UI[language]
    if not loc:
        return text["invalid_form"]
    name = labels.get(str(loc[0]), str(loc[0]))
    if len(loc) >= 2 and isinstance(loc[1], int):
        name += " " + text["item_number"].format(number=loc[1] + 1)
    if len(loc) >= 3:
        name += " · " + text.get(str(loc[2]), str(loc[2]))
    return name


def _what(error: Any, text: dict[str, str]) -> str:
    kind = error["type"]
    for problem, kinds in _PROBLEMS.items():
        if kind in kinds:
            return text[f"invalid_{problem}"].format(**error.get("ctx", {}))
    return text["invalid_other"]
