"""The opened message's line about the top suspect change, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from receiver.domain.suspects import Suspect
from receiver.notify.suspect import suspect_line

FIRST_ALERT = datetime(2026, 11, 26, 19, 11, 48, tzinfo=UTC)


def suspect(minutes: float, actor: str | None, to_version: str | None) -> Suspect:
    change = ServiceChange(
        source=ChangeSource.ARGOCD,
        source_id="x",
        type=ChangeType.DEPLOY,
        service="payments-api",
        summary="payments-api 同步成功",
        started_at=FIRST_ALERT - timedelta(minutes=minutes),
        to_version=to_version,
        actor=actor,
    )
    return Suspect(change, 8, ("service",), -timedelta(minutes=minutes))


def test_the_line_says_when_which_service_what_and_who() -> None:
    assert suspect_line(suspect(15, "张三", "v2.32.0"), "zh") == (
        "15 分钟前 payments-api 发布 v2.32.0（张三）"
    )
    assert suspect_line(suspect(15, "zhangsan", "v2.32.0"), "en") == (
        "15 min before payments-api deployed v2.32.0 (zhangsan)"
    )


def test_without_actor_or_version_it_says_what_it_knows() -> None:
    assert suspect_line(suspect(15, None, None), "zh") == (
        "15 分钟前 payments-api 发布 payments-api 同步成功"
    )
    assert suspect_line(suspect(0, None, "v1"), "zh") == "首条告警同时 payments-api 发布 v1"
