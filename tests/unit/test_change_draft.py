"""Changes in the draft: the 变更记录 table, the 直接原因 candidates, people's verdicts,
rollbacks and scale-outs as 处理阶段 rows, hostile change text — rendered for real."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from receiver.config import DEFAULT_SEVERITY_MAP
from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from receiver.domain.incident import EntryKind, Phase, Rules, Source, TimelineEntry
from receiver.domain.review import HumanFields
from receiver.domain.suspects import Verdict, VerdictMark
from receiver.postmortem.render import DraftRenderer
from receiver.postmortem.sample import sample_draft_input
from receiver.postmortem.view import DraftInput, RenderOptions

DATA = sample_draft_input()
HOSTILE_TEXTS = (
    "{{ 7*7 }}{% for x in range(3) %}loop{% endfor %}",
    "<script>alert(1)</script>|evil\nrow",
    "**bold** [link](javascript:x) `code` ../../etc/passwd\u202e\x00",
)
FIRST = DATA.incident.started_at
RENDERER = DraftRenderer()


def render(data: DraftInput, language: str = "zh") -> str:
    options = RenderOptions(language, ZoneInfo("Asia/Shanghai"), Rules(DEFAULT_SEVERITY_MAP))
    return RENDERER.render(data, options)


def change(
    change_id: int, minutes: int, type: ChangeType = ChangeType.DEPLOY, **more: str
) -> ServiceChange:
    return ServiceChange(
        source=ChangeSource.FLUX,
        source_id=f"c{change_id}",
        type=type,
        service=more.pop("service", "payments"),
        summary=more.pop("summary", f"change {change_id}"),
        started_at=FIRST + timedelta(minutes=minutes),
        id=change_id,
        **more,  # type: ignore[arg-type]
    )


def section(markdown: str, heading: str) -> str:
    start = markdown.index(heading)
    end = markdown.index("\n#", start + len(heading))
    return markdown[start:end]


def change_rows(markdown: str) -> list[str]:
    table = markdown.split("**变更记录**", 1)[1].split("\n\n", 2)[1]
    return [line for line in table.splitlines() if line.startswith("|")][2:]


DEPLOY = change(
    10,
    -15,
    summary="payments-api v2.32.0",
    from_version="v2.31.4",
    to_version="v2.32.0",
    actor="张三",
    link="https://github.com/acme/payments/deployments/77",
)
OTHER = change(11, -5, service="search", summary="search v9")


def test_the_candidate_is_named_in_the_direct_cause_marked_and_with_its_link() -> None:
    markdown = render(replace(DATA, changes=[OTHER, DEPLOY], verdicts=[]))
    cause = section(markdown, "### 直接原因")
    assert "【待填写：直接原因，例如某次配置变更或发布】" in cause  # never stated as the cause
    assert (
        "- 候选（待确认）：13:47:10 payments 发布：payments-api v2.32.0（v2.31.4 → v2.32.0，"
        "张三，来自 Flux，[查看变更](https://github.com/acme/payments/deployments/77)）；"
        "与告警共同：服务，首条告警前 15 分 0 秒" in cause
    )
    assert "search" not in cause
    rows = change_rows(markdown)
    assert rows == [
        "| 13:47:10 | Flux | payments | 发布：payments-api v2.32.0 | v2.31.4 → v2.32.0 | 张三 "
        "| [链接](https://github.com/acme/payments/deployments/77) | 候选 1（待确认） |"
    ]  # the change to another service shares nothing with the alerts: not listed


def test_without_changes_the_draft_has_no_change_parts() -> None:
    markdown = render(replace(DATA, changes=[], verdicts=[]))
    assert "变更记录" not in markdown
    assert "候选（待确认）" not in markdown


def test_a_person_marking_the_cause_is_shown_attributed_and_the_placeholder_stays() -> None:
    marked = VerdictMark(10, Verdict.CAUSE, "李四", FIRST + timedelta(hours=1))
    markdown = render(replace(DATA, changes=[DEPLOY], verdicts=[marked]))
    cause = section(markdown, "### 直接原因")
    assert "- **李四 于 2026-01-05 15:02 标记为原因**：13:47:10 payments 发布" in cause
    assert "候选（待确认）" not in cause
    assert "【待填写：直接原因" in cause  # until a person writes the cause in words
    assert change_rows(markdown)[0].endswith("| 已确认为原因（李四，2026-01-05 15:02） |")


def test_a_change_marked_unrelated_leaves_the_candidates_and_says_so_in_the_table() -> None:
    ruled_out = VerdictMark(10, Verdict.UNRELATED, "李四", FIRST + timedelta(hours=1))
    markdown = render(replace(DATA, changes=[DEPLOY], verdicts=[ruled_out]))
    assert "候选" not in section(markdown, "### 直接原因")
    assert change_rows(markdown)[0].endswith("| 已排除：无关（李四，2026-01-05 15:02） |")


def test_a_written_direct_cause_replaces_the_candidates() -> None:
    human = HumanFields(direct_cause="v2.32.0 的连接池配置错误")
    markdown = render(replace(DATA, changes=[DEPLOY], verdicts=[], human=human))
    cause = section(markdown, "### 直接原因")
    assert "v2.32.0 的连接池配置错误" in cause
    assert "候选" not in cause
    assert "【待填写：直接原因" not in cause
    assert len(change_rows(markdown)) == 1  # the table still lists it


def handle_rows(markdown: str) -> list[str]:
    return [
        line for line in section(markdown, "### 处理阶段").splitlines() if line.startswith("| 14")
    ]


def test_a_rollback_during_the_incident_becomes_a_handling_row_with_its_actor() -> None:
    rollback = change(
        12,
        9,
        ChangeType.ROLLBACK,
        summary="payments-api back to v2.31.4",
        from_version="v2.32.0",
        to_version="v2.31.4",
        actor="王五",
    )
    timeline = [e for e in DATA.timeline if e.kind is not EntryKind.ROLLBACK]
    markdown = render(replace(DATA, timeline=timeline, changes=[rollback], verdicts=[]))
    assert handle_rows(markdown) == [
        "| 14:11:10 | 故障三板斧 - 回滚 | 王五 | 变更记录（payments）："
        "payments-api back to v2.31.4（v2.32.0 → v2.31.4） |"
    ]
    assert "| 未记录 | 故障三板斧 - 回滚 |" not in markdown
    assert "回滚 9 分 0 秒" in markdown  # the key intervals count it too


def test_a_rollback_a_person_reported_within_15_minutes_is_one_row_not_two() -> None:
    # the sample has wangwu's reported rollback at +18 min
    near = change(12, 18 - 14, ChangeType.ROLLBACK, actor="王五")
    far = change(13, 18 - 16, ChangeType.ROLLBACK, actor="王五", summary="second rollback")
    markdown = render(replace(DATA, changes=[near, far], verdicts=[]))
    rows = [row for row in handle_rows(markdown) if "故障三板斧 - 回滚" in row]
    assert len(rows) == 2
    assert "second rollback" in rows[0]
    assert "手动上报 `rollback`" in rows[1]


def test_only_a_scale_out_is_a_scale_row() -> None:
    up = change(14, 5, ChangeType.SCALE, summary="Scaled up replica set p-1 to 6")
    down = change(15, 6, ChangeType.SCALE, summary="replicas", from_version="6", to_version="2")
    unknown = change(16, 7, ChangeType.SCALE, summary="HPA changed")
    markdown = render(replace(DATA, changes=[up, down, unknown], verdicts=[]))
    rows = [row for row in handle_rows(markdown) if "扩容" in row]
    assert len(rows) == 1
    assert "Scaled up replica set p-1 to 6" in rows[0]
    assert len(change_rows(markdown)) == 3  # all three are listed as changes


def test_a_rollback_a_person_marked_unrelated_is_no_row() -> None:
    rollback = change(12, 9, ChangeType.ROLLBACK, actor="王五", service="payments")
    timeline = [e for e in DATA.timeline if e.kind is not EntryKind.ROLLBACK]
    said = VerdictMark(12, Verdict.UNRELATED, "李四", FIRST + timedelta(hours=1))
    markdown = render(replace(DATA, timeline=timeline, changes=[rollback], verdicts=[said]))
    assert not [row for row in handle_rows(markdown) if "回滚" in row]


@pytest.mark.parametrize("hostile", HOSTILE_TEXTS)
def test_hostile_change_text_renders_inertly(hostile: str) -> None:
    bad = change(
        20,
        -3,
        summary=hostile,
        actor=hostile,
        from_version=hostile,
        to_version=hostile,
        link="javascript:alert(1)",
    )
    for language in ("zh", "en"):
        markdown = render(replace(DATA, changes=[bad], verdicts=[]), language)
        assert not re.search(r"(?<!\\)\]\(javascript:", markdown)  # never a link target
        assert "<script>" not in markdown
        assert "looplooploop" not in markdown
        assert "49" not in markdown
        rows = [line for line in markdown.splitlines() if line.startswith("| 13:59:10 | Flux |")]
        assert len(rows) == 1  # one table row, however odd the text
        assert len(re.findall(r"(?<!\\)\|", rows[0])) == 9  # the table's own pipes only


def test_ten_kilobytes_of_markdown_stay_one_escaped_table_cell() -> None:
    message = ("# 标题 **粗** [x](http://evil) <b>html</b> {{ 7*7 }} |" * 200)[:10_240]
    markdown = render(replace(DATA, changes=[change(21, -3, summary=message)], verdicts=[]))
    (row,) = change_rows(markdown)
    assert "49" not in row
    assert "<b>" not in row
    assert "\\|" in row
    assert len(re.findall(r"(?<!\\)\|", row)) == 9  # the table's own 9 pipes only


def test_the_english_draft_names_the_candidate_too() -> None:
    markdown = render(replace(DATA, changes=[DEPLOY], verdicts=[]), "en")
    assert "- Candidate (to be confirmed): 13:47:10 payments deploy: payments-api v2.32.0" in (
        section(markdown, "### Immediate cause")
    )
    assert "| candidate 1 (to be confirmed) |" in markdown
    assert "【" not in markdown


def test_rows_from_changes_are_never_stored_entries() -> None:
    # the derived rows carry their own source; nothing in the store has it
    assert Source.CHANGE.value == "change"
    entry = TimelineEntry(FIRST, Phase.HANDLE, EntryKind.ROLLBACK, Source.MANUAL, "k")
    assert entry.source is not Source.CHANGE
