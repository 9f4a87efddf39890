"""The review form's starting values: what the timeline already suggests for the fields
people fill, offered for a person to confirm or edit.

Nothing here is stored. The form posts every field, so a save stores what it shows, and
a suggestion left as it is becomes the person's own (confirmed) field at that moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from pydantic.types import StringConstraints

from receiver.domain.review import HumanFields
from receiver.domain.suggestions import Reported, Suggestions
from receiver.web.pages.ui_text import UI


def prefill(
    suggestions: Suggestions,
    stored: HumanFields,
    language: str,
    clock_time: Callable[[datetime], str],
) -> dict[str, str]:
    """Field name → suggested text, for each field the timeline knows something about and
    people have not filled yet. `clock_time` shows a moment as the page does."""
    words = UI[language]

    def reports(items: tuple[Reported, ...]) -> list[str]:
        return [_reported(item, words, clock_time(item.at)) for item in items]

    offered = {
        "owner": [suggestions.owner] if suggestions.owner else [],
        "participants": list(suggestions.participants),
        "direct_cause": reports(suggestions.direct_cause),
        "containment": reports(suggestions.containment),
        "temporary_fix": reports(suggestions.temporary_fix),
    }
    separators = {"participants": words["list_sep"]}
    return {
        name: text
        for name, parts in offered.items()
        if not getattr(stored, name)
        and (text := _fitting(parts, separators.get(name, "\n"), _max_chars(name)))
    }


def _reported(item: Reported, words: dict[str, str], time: str) -> str:
    """What was reported, saying who and when: the person confirms a report, not a fact."""
    if item.actor:
        return words["reported_by"].format(text=item.text, actor=item.actor, time=time)
    return words["reported_at"].format(text=item.text, time=time)


def _fitting(parts: Iterable[str], separator: str, limit: int) -> str:
    """The parts joined, as many whole ones as the field holds: saving a suggestion as it
    stands must never be refused for its length."""
    text = ""
    for part in parts:
        longer = f"{text}{separator}{part}" if text else part
        if len(longer) > limit:
            break
        text = longer
    return text


def _max_chars(name: str) -> int:
    """The field's own length limit, so the form and the model cannot disagree."""
    for rule in HumanFields.model_fields[name].metadata:
        if isinstance(rule, StringConstraints) and rule.max_length is not None:
            return rule.max_length
    raise LookupError(f"{name} has no length limit")
