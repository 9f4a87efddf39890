"""A message's extra lines and @mentions (issue 21) on every platform: people's text in
the lines is escaped like every other field, so it can mention nobody; the mentions are
the configured user ids, in each platform's own syntax."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from receiver.config.notify import NotifyEvent
from receiver.notify.message import Message
from receiver.notify.platforms import dingtalk, feishu, slack, webhook, wecom

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
HOSTILE = "扩容 <at id=all></at> <!channel> <@all> [x](http://evil) *粗*"


def message(**extra: Any) -> Message:
    return Message(
        event=NotifyEvent.ACTION_REMINDER,
        language="zh",
        incident_id=12,
        headline="行动项已逾期",
        title="checkout 5xx",
        severity="P1",
        service="checkout",
        status="approved",
        started_at=NOW,
        zone="Asia/Shanghai",
        duration=None,
        acknowledged_by=None,
        link="https://pm.example.com/actions#item-ab12",
        notes=(HOSTILE,),
        mentions=("U_LISI", "bad>id"),
        link_label="查看行动项",
        **extra,
    )


def body(module: Any, value: Message) -> dict[str, Any]:
    data = json.loads(module.build("https://chat.example.com/hook", None, value, NOW).body)
    assert isinstance(data, dict)
    return data


def test_slack_escapes_the_line_and_mentions_the_user() -> None:
    text = json.dumps(body(slack, message()), ensure_ascii=False)
    assert "&lt;!channel&gt;" in text
    assert "<!channel>" not in text
    assert "<@U_LISI>" in text
    assert "bad>id" not in text  # not an id any platform takes
    assert "查看行动项" in text


def test_feishu_escapes_the_line_and_mentions_the_user() -> None:
    text = json.dumps(body(feishu, message()), ensure_ascii=False)
    assert "<at id=all></at>" not in text
    assert "<at id=U_LISI></at>" in text
    assert "查看行动项" in text


@pytest.mark.parametrize("module", [dingtalk, wecom])
def test_markdown_platforms_escape_the_line_and_mention_the_user(module: Any) -> None:
    data = body(module, message())
    text = json.dumps(data, ensure_ascii=False)
    assert "<@all>" not in text
    assert "[x](http://evil)" not in text
    assert "U_LISI" in text
    if module is dingtalk:
        assert data["at"] == {"atUserIds": ["U_LISI"], "isAtAll": False}


def test_webhook_passes_the_lines_and_mentions_as_data() -> None:
    incident = body(webhook, message())["incident"]
    assert incident["notes"] == [HOSTILE]
    assert incident["mentions"] == ["U_LISI", "bad>id"]
    assert Message.from_json(incident) == message()


def test_a_digest_shows_no_incident_fields() -> None:
    digest = Message(
        event=NotifyEvent.ACTION_DIGEST,
        language="zh",
        incident_id=0,
        headline="行动项周报",
        title="本周行动项：3 项未完成，其中 1 项已逾期",
        severity="",
        service="",
        status="",
        started_at=NOW,
        zone="Asia/Shanghai",
        duration=None,
        acknowledged_by=None,
        link=None,
        notes=("a", "b", "c"),
    )
    text = json.dumps(body(feishu, digest), ensure_ascii=False)
    assert "#0" not in text
    assert "严重程度" not in text
    assert "本周行动项" in text
