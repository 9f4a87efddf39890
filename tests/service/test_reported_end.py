"""A silenced incident that a person reported over before reconciliation noticed: the
person's report is the draft's end, named as theirs; a report after it changes nothing.

The cheap twin of tests/system/test_e2e_silenced_draft.py (real Alertmanager, no person's
resolve): the same use cases the webhook, POST /api/v1/events and the reconciler call, on
a real database, with a fixed clock.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.usecases.reconcile import AlertmanagerView
from receiver.usecases.record_event import ManualEvent
from receiver.usecases.service import IncidentService
from tests.conftest import Clock, capture
from tests.service.test_postmortem import zhangsans_silence

SILENCE_ID = "5f3c2a"
NO_RESOLVE = f"静默期间无恢复通知；静默 `{SILENCE_ID}` 由 zhangsan 设置"


async def silenced_incident(settings: Settings, clock: Clock, resolve_minutes: int) -> str:
    """Fired, silenced by zhangsan, restarted and rolled back; lisi reports `resolve`
    `resolve_minutes` after the alerts fired, and reconciliation finds them gone after
    40 minutes. The draft's Markdown."""
    database = open_configured_database(settings)
    await database.migrate()
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)
    firing = capture("firing_group_3")
    start = Webhook.parse(firing).alerts[0].starts_at

    async def report(kind: str, actor: str, message: str, minutes: int) -> None:
        clock.now = start + timedelta(minutes=minutes)
        fields = {"type": kind, "service": "payments", "message": message, "actor": actor}
        await service.record_event(ManualEvent.model_validate(fields), json.dumps(fields))

    async def reconcile(minutes: int, present: set[str]) -> None:
        clock.now = start + timedelta(minutes=minutes)
        view = AlertmanagerView([silence], present, clock.now)
        await service.reconcile.apply_alertmanager_view(1, view)

    try:
        clock.now = start + timedelta(seconds=30)
        await service.ingest_webhook(Webhook.parse(firing), json.dumps(firing))
        silence = zhangsans_silence(start, SILENCE_ID, "正在排查", minutes=2)
        await reconcile(3, {alert["fingerprint"] for alert in firing["alerts"]})
        await report("restart", "lisi", "重启 payments-api", 6)
        await report("rollback", "wangwu", "回滚 payments-api 到 v2.31.4", 12)
        if resolve_minutes < 40:
            await report("resolve", "lisi", "支付成功率恢复", resolve_minutes)
        await reconcile(40, set())  # the alerts resolved silently
        if resolve_minutes > 40:
            await report("resolve", "lisi", "支付成功率恢复", resolve_minutes)
        return (await service.queries.current_draft(1)).markdown
    finally:
        await database.close()


def line(markdown: str, prefix: str) -> str:
    found = [text for text in markdown.splitlines() if text.startswith(prefix)]
    assert len(found) == 1, (prefix, found)
    return found[0]


def hhmmss(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S")  # the settings' zone is UTC


async def test_a_resolve_reported_before_reconciliation_is_the_end_and_named(
    settings: Settings, clock: Clock
) -> None:
    markdown = await silenced_incident(settings, clock, resolve_minutes=15)
    start = Webhook.parse(capture("firing_group_3")).alerts[0].starts_at
    resolved = start + timedelta(minutes=15)

    assert line(markdown, "- **结束时间**") == (
        f"- **结束时间**: {resolved:%Y-%m-%d %H:%M:%S}（lisi 上报已解决的时间；"
        f"告警由对账发现已恢复，{NO_RESOLVE}）"
    )
    assert "约 0 小时 15 分钟（估算" in line(markdown, "- **持续时间**")
    mttr = line(markdown, "- **MTTR")
    assert f"本次约 15 分钟（估算，{hhmmss(start)} 至 {hhmmss(resolved)}）" in mttr
    hint = line(markdown, "*系统记录")
    assert f"恢复前最后一次处理是 {hhmmss(start + timedelta(minutes=12))} wangwu 回滚" in hint
    assert f"3 分 0 秒后 lisi 于 {hhmmss(resolved)} 上报已解决" in hint
    assert "不晚于" not in markdown.split("## 附录")[0]  # the appendix: each alert's own end
    assert "最后告警 endsAt" not in markdown


async def test_a_resolve_reported_after_reconciliation_leaves_the_upper_bound(
    settings: Settings, clock: Clock
) -> None:
    markdown = await silenced_incident(settings, clock, resolve_minutes=45)
    start = Webhook.parse(capture("firing_group_3")).alerts[0].starts_at
    found = start + timedelta(minutes=40)

    assert line(markdown, "- **结束时间**") == (
        f"- **结束时间**: 不晚于 {found:%Y-%m-%d %H:%M:%S}（对账发现，{NO_RESOLVE}）"
    )
    assert "约 0 小时 40 分钟（估算" in line(markdown, "- **持续时间**")
    assert "上报已解决" not in markdown
