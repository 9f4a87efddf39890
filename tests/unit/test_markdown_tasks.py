"""Task items in a draft show as checkboxes that only display; raw HTML stays text."""

from __future__ import annotations

from receiver.web.pages.markdown import to_html


def test_task_items_are_disabled_checkboxes() -> None:
    html = str(to_html("- [ ] 扩大连接池\n- [x] 加告警 <b>x</b>\n- 普通一项\n"))
    assert '<ul class="tasks">' in html
    assert '<li class="task"><input type="checkbox" disabled> 扩大连接池</li>' in html
    assert (
        '<li class="task"><input type="checkbox" disabled checked> 加告警 &lt;b&gt;x&lt;/b&gt;</li>'
        in html
    )
    assert "<li>普通一项</li>" in html
    assert "[ ]" not in html
    assert "[x]" not in html


def test_brackets_elsewhere_stay_text() -> None:
    html = str(to_html("[ ] 不在列表里\n\n- [ ]没有空格\n\n- 说明 [x] 在中间\n"))
    assert "<input" not in html
    assert "[ ] 不在列表里" in html
    assert "[ ]没有空格" in html
