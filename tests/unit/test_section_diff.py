"""Two revisions of a draft compared by section: headings split it (not inside code blocks),
a one-character change in Chinese marks that character only, unchanged sections say so,
added and removed sections are whole; and why each revision was written."""

from __future__ import annotations

from pathlib import Path

from receiver.domain.drafting import EVIDENCE_AUTHOR, RevisionCause, revision_cause
from receiver.postmortem.section_diff import (
    Change,
    Piece,
    SectionDiff,
    diff_sections,
    inline,
    split_sections,
)

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-draft.zh.md"

OLD = """> 自动生成的草稿 · 修订 1
# 事故后分析：payments P99 延迟过高
## 根因分析
### 直接原因
支付服务数据库连接池耗尽，请求排队导致 P99 延迟升高
### 根本原因
【待填写】
## 行动计划
### 立即行动 (1 周内)
- [ ] 扩大连接池
## 附录
```sh
# 不是标题
./alert-webhook.sh note payments - 备注
```
"""


def by_title(diffs: list[SectionDiff]) -> dict[str, SectionDiff]:
    return {d.title: d for d in diffs}


def test_headings_split_the_draft_but_not_a_hash_inside_a_code_block() -> None:
    sections = split_sections(OLD)
    assert [(s.parent, s.title, s.level) for s in sections] == [
        ("", "", 0),
        ("", "事故后分析：payments P99 延迟过高", 1),
        ("", "根因分析", 2),
        ("根因分析", "直接原因", 3),
        ("根因分析", "根本原因", 3),
        ("", "行动计划", 2),
        ("行动计划", "立即行动 (1 周内)", 3),
        ("", "附录", 2),
    ]
    assert "# 不是标题" in sections[-1].lines
    assert "\n".join(line for s in sections for line in s.lines) == OLD.rstrip("\n")


def test_one_changed_character_is_the_only_mark() -> None:
    new = OLD.replace("连接池耗尽", "连接数耗尽")
    diffs = by_title(diff_sections(OLD, new))
    cause = diffs["直接原因"]
    assert cause.change is Change.CHANGED
    (row,) = [r for r in cause.rows if r.change is Change.CHANGED]
    assert row.old is not None
    assert row.new is not None
    assert [p.text for p in row.old.pieces if p.changed] == ["池"]
    assert [p.text for p in row.new.pieces if p.changed] == ["数"]
    assert row.new.text == "支付服务数据库连接数耗尽，请求排队导致 P99 延迟升高"
    assert (cause.added, cause.removed) == (1, 1)
    # everything else is the same, and says so
    others = [d for d in diffs.values() if d.title != "直接原因"]
    assert {d.change for d in others} == {Change.SAME}


def test_added_and_removed_lines_and_sections() -> None:
    new = OLD.replace("- [ ] 扩大连接池", "- [x] 扩大连接池\n- [ ] 加告警").replace(
        "### 根本原因\n【待填写】\n", ""
    )
    new = new.replace("## 附录", "## 经验教训\n### 成功经验\n回滚及时\n## 附录")
    diffs = diff_sections(OLD, new)
    changes = {d.title: d.change for d in diffs}
    assert changes["根本原因"] is Change.REMOVED
    assert changes["经验教训"] is Change.ADDED
    assert changes["成功经验"] is Change.ADDED
    actions = by_title(diffs)["立即行动 (1 周内)"]
    assert [(r.change, r.new.text if r.new else None) for r in actions.rows[1:]] == [
        (Change.CHANGED, "- [x] 扩大连接池"),
        (Change.ADDED, "- [ ] 加告警"),
    ]
    removed = by_title(diffs)["根本原因"]
    assert all(r.new is None and r.old is not None for r in removed.rows)
    # the newer revision's order, removed sections where they were
    assert [d.title for d in diffs][3:6] == ["直接原因", "根本原因", "行动计划"]


def test_unrelated_lines_are_marked_whole_not_as_confetti() -> None:
    old, new = inline("连接池配置过小", "上游 DNS 故障导致解析超时")
    assert old.pieces == (Piece("连接池配置过小", True),)
    assert new.pieces == (Piece("上游 DNS 故障导致解析超时", True),)
    same_left, same_right = inline("负责人：zhangsan", "负责人：lisi")
    assert same_left.pieces[0] == Piece("负责人：", False)
    assert same_right.text == "负责人：lisi"


def test_the_sample_draft_against_itself_and_an_edit() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    assert {d.change for d in diff_sections(text, text)} == {Change.SAME}
    titles = [d.title for d in diff_sections(text, text)]
    assert "直接原因" in titles
    assert "行动计划" in titles
    edited = text.replace("## 经验教训", "## 经验教训\n新的一行", 1)
    changed = [d for d in diff_sections(text, edited) if d.change is not Change.SAME]
    assert [(d.title, d.added, d.removed) for d in changed] == [("经验教训", 1, 0)]


def test_why_a_revision_was_written() -> None:
    assert revision_cause(1, None) is RevisionCause.RECOVERY
    assert revision_cause(3, None) is RevisionCause.REFIRE
    assert revision_cause(2, EVIDENCE_AUTHOR) is RevisionCause.EVIDENCE
    assert revision_cause(2, "lisi") is RevisionCause.SAVE
