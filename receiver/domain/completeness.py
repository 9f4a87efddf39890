"""How much of a draft people have filled in, and what approval requires. Pure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from receiver.domain.review import HumanFields

# a requirement is met when its check says the fields hold it
Check = Callable[[HumanFields], bool]

_ROOT_CAUSES = (
    "root_cause_technical",
    "root_cause_process",
    "root_cause_human",
    "root_cause_external",
)


def _has(name: str) -> Check:
    return lambda fields: bool(getattr(fields, name))


def _any_root_cause(fields: HumanFields) -> bool:
    return any(getattr(fields, name) for name in _ROOT_CAUSES)


def _affected(fields: HumanFields) -> bool:
    return bool(fields.affected_users or fields.affected_features)


def _owned_action(fields: HumanFields) -> bool:
    return any(item.owner for item in fields.actions)


def _any_lesson(fields: HumanFields) -> bool:
    return bool(fields.lessons_success or fields.lessons_failure or fields.lessons_suggestions)


# every part of the draft only people can fill, in the template's order
CHECKS: dict[str, Check] = {
    "owner": _has("owner"),
    "participants": _has("participants"),
    "affected": _affected,
    "business_loss": _has("business_loss"),
    "user_feedback": _has("user_feedback"),
    "direct_cause": _has("direct_cause"),
    "root_cause": _any_root_cause,
    "impact_chain": _has("impact_chain"),
    "containment": _has("containment"),
    "temporary_fix": _has("temporary_fix"),
    "improvements": _has("improvements"),
    "actions": _owned_action,
    "lessons": _any_lesson,
}

# 负责人, 直接原因, ≥1 根本原因, 受影响用户数/功能, ≥1 行动计划 item with an owner
DEFAULT_REQUIRED: tuple[str, ...] = ("owner", "direct_cause", "root_cause", "affected", "actions")


@dataclass(frozen=True, slots=True)
class Completeness:
    filled: int
    total: int
    missing: tuple[str, ...]  # names from CHECKS, in the template's order


def completeness(fields: HumanFields) -> Completeness:
    missing = tuple(name for name, check in CHECKS.items() if not check(fields))
    return Completeness(filled=len(CHECKS) - len(missing), total=len(CHECKS), missing=missing)


def missing_for_approval(fields: HumanFields, required: Sequence[str]) -> list[str]:
    """The required parts still empty, in the template's order."""
    return [name for name in CHECKS if name in required and not CHECKS[name](fields)]
