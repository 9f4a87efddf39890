"""The review form's starting values: who and when each report says, only empty fields,
and never longer than the field holds (saving a suggestion as shown must not fail)."""

from __future__ import annotations

from datetime import UTC, datetime

from receiver.domain.incident import EntryKind
from receiver.domain.review import HumanFields
from receiver.domain.suggestions import Reported, Suggestions
from receiver.web.pages.prefill import prefill

AT = datetime(2026, 11, 26, 6, 20, 44, tzinfo=UTC)


def clock_time(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S")


def suggestions(**overrides: object) -> Suggestions:
    values: dict[str, object] = {
        "owner": "",
        "participants": (),
        "direct_cause": (),
        "containment": (),
        "temporary_fix": (),
    }
    values.update(overrides)
    return Suggestions(**values)  # type: ignore[arg-type]


def test_a_report_says_who_and_when_or_only_when_without_a_person() -> None:
    offered = suggestions(
        containment=(
            Reported("回滚 payments-api 到 v2.31.4", "wangwu", AT, EntryKind.ROLLBACK),
            Reported("扩容到 6 个实例", None, AT, EntryKind.SCALE),
        )
    )
    assert prefill(offered, HumanFields(), "zh", clock_time) == {
        "containment": "回滚 payments-api 到 v2.31.4（wangwu 于 06:20:44 上报）\n"
        "扩容到 6 个实例（于 06:20:44 上报）"
    }
    assert prefill(offered, HumanFields(), "en", clock_time) == {
        "containment": "回滚 payments-api 到 v2.31.4 (reported by wangwu at 06:20:44)\n"
        "扩容到 6 个实例 (reported at 06:20:44)"
    }


def test_only_empty_fields_and_only_what_is_known() -> None:
    offered = suggestions(owner="lisi", participants=("lisi", "wangwu"))
    stored = HumanFields(owner="zhaoliu")
    assert prefill(offered, stored, "zh", clock_time) == {"participants": "lisi、wangwu"}
    assert prefill(suggestions(), HumanFields(), "zh", clock_time) == {}


def test_a_suggestion_fits_its_field_whole_items_at_a_time() -> None:
    many = tuple(f"person-{n:03d}-" + "x" * 40 for n in range(30))  # 50 characters each
    participants = prefill(suggestions(participants=many), HumanFields(), "en", clock_time)[
        "participants"
    ]
    assert len(participants) <= 500
    assert participants.split(", ") == list(many[: len(participants.split(", "))])
    HumanFields(participants=participants)  # a save of it as shown is valid

    long_report = Reported("y" * 15_000, "wangwu", AT, EntryKind.FIX)
    offered = suggestions(temporary_fix=(long_report, long_report))
    fix = prefill(offered, HumanFields(), "zh", clock_time)["temporary_fix"]
    assert fix.count("\n") == 0  # the second report would pass the 20,000 characters
    HumanFields(temporary_fix=fix)
