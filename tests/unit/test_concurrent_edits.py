"""The conflict rule for two people editing one draft, and where each section's edit
control goes in the rendered draft."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from receiver.domain.completeness import CHECKS
from receiver.domain.concurrent_edits import Edit, EditConflict, rebased
from receiver.domain.review import HumanFields
from receiver.web.pages.markdown import to_html
from receiver.web.pages.sections import SECTIONS, split_draft

NOW = HumanFields(owner="lisi", direct_cause="连接池调到 5", root_cause_process="没有压测")
# revision 2 set the owner, revision 3 the direct cause
EDITS = (Edit(2, {"owner": ""}), Edit(3, {"direct_cause": ""}))


def test_a_field_changed_since_the_base_conflicts_with_the_current_value() -> None:
    with pytest.raises(EditConflict) as raised:
        rebased({"direct_cause": "慢查询"}, NOW, 2, EDITS, 3)
    [conflict] = raised.value.conflicts
    assert (conflict.field, conflict.current, conflict.yours) == (
        "direct_cause",
        "连接池调到 5",
        "慢查询",
    )
    assert raised.value.revision == 3


def test_fields_changed_before_the_base_or_not_at_all_merge() -> None:
    assert rebased({"direct_cause": "慢查询"}, NOW, 3, EDITS, 3) == {"direct_cause": "慢查询"}
    assert rebased({"impact_chain": "排队"}, NOW, 1, EDITS, 3) == {"impact_chain": "排队"}


def test_a_field_sent_as_it_was_at_the_base_keeps_the_later_change() -> None:
    assert rebased({"owner": "", "impact_chain": "排队"}, NOW, 1, EDITS, 3) == {
        "impact_chain": "排队"
    }
    # the same value as now is no change, hence no conflict; whitespace is normalised
    assert rebased({"direct_cause": " 连接池调到 5 "}, NOW, 1, EDITS, 3) == {}


def test_bad_input_is_still_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        rebased({"owner": "x" * 501}, NOW, 3, EDITS, 3)


def test_sections_hold_every_field_and_every_part_once() -> None:
    fields = [name for section in SECTIONS for name in section.fields]
    assert sorted(fields) == sorted(HumanFields.model_fields)
    parts = [name for section in SECTIONS for name in section.parts]
    assert sorted(parts) == sorted(CHECKS)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_each_section_control_follows_its_heading(language: str) -> None:
    headings = {
        "zh": "# 事故\n\n### 事故概述\n\n文字\n\n### 直接原因\n\n原因\n\n## 遏制措施\n\n",
        "en": "# X\n\n### Overview\n\ntext\n\n### Immediate cause\n\ncause\n\n## Containment\n\n",
    }[language]
    html = to_html(headings)
    pieces, absent = split_draft(html)
    assert "".join(piece.html for piece in pieces) == str(html)  # nothing lost or doubled
    assert [p.section.key for p in pieces if p.section] == [
        "overview",
        "direct_cause",
        "containment",
    ]
    assert pieces[1].html.startswith("<p>")
    assert pieces[1].html.endswith("</h3>\n")
    assert {s.key for s in absent} == {s.key for s in SECTIONS} - {
        "overview",
        "direct_cause",
        "containment",
    }
