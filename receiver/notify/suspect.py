"""The opened message's one line about the top suspect change, e.g.
"15 分钟前 payments-api 发布 v2.32.0（张三）": what the draft will name as its first
候选（待确认）. The message's label says it is to be confirmed; this is only the line."""

from __future__ import annotations

from datetime import timedelta

from receiver.domain.changes import ChangeType
from receiver.domain.suspects import Suspect

_TYPE = {
    "zh": {
        ChangeType.DEPLOY: "发布",
        ChangeType.CONFIG: "配置变更",
        ChangeType.ROLLBACK: "回滚",
        ChangeType.SCALE: "扩缩容",
    },
    "en": {
        ChangeType.DEPLOY: "deployed",
        ChangeType.CONFIG: "config change to",
        ChangeType.ROLLBACK: "rolled back",
        ChangeType.SCALE: "scaled",
    },
}


def suspect_line(suspect: Suspect, language: str) -> str:
    """When (before the first alert), which service, what, to which version, by whom."""
    change = suspect.change
    minutes = round(abs(suspect.offset) / timedelta(minutes=1))
    what = change.to_version or change.summary
    if language == "en":
        when = f"{minutes} min before" if minutes else "at the first alert:"
        by = f" ({change.actor})" if change.actor else ""
        return f"{when} {change.service} {_TYPE['en'][change.type]} {what}{by}"
    when = f"{minutes} 分钟前" if minutes else "首条告警同时"
    by = f"（{change.actor}）" if change.actor else ""
    return f"{when} {change.service} {_TYPE['zh'][change.type]} {what}{by}"
