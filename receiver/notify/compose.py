"""An incident and an event → the platform-neutral Message, in the configured language."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from receiver.config import Settings
from receiver.config.notify import NotifyEvent
from receiver.domain.incident import Incident
from receiver.domain.moments import in_zone
from receiver.domain.recurrence import Similar
from receiver.domain.slo import Verdict
from receiver.notify.message import Message
from receiver.notify.platforms import wording

HEADLINES: dict[str, dict[NotifyEvent, str]] = {
    "zh": {
        NotifyEvent.OPENED: "事故已开启",
        NotifyEvent.ACKNOWLEDGED: "事故已确认",
        NotifyEvent.DRAFT_WRITTEN: "事故已恢复，复盘草稿已生成，请审阅",
        NotifyEvent.DRAFT_REVISED: "复盘草稿有新修订",
        NotifyEvent.STALE: "事故长时间未收到告警更新（可能已失联）",
        NotifyEvent.APPROVED: "复盘报告已批准",
        NotifyEvent.ACTION_REMINDER: "行动项提醒",
        NotifyEvent.ACTION_DIGEST: "行动项周报",
    },
    "en": {
        NotifyEvent.OPENED: "Incident opened",
        NotifyEvent.ACKNOWLEDGED: "Incident acknowledged",
        NotifyEvent.DRAFT_WRITTEN: "Incident recovered: draft postmortem ready for review",
        NotifyEvent.DRAFT_REVISED: "Draft postmortem revised",
        NotifyEvent.STALE: "Incident stale: no word from Alertmanager for too long",
        NotifyEvent.APPROVED: "Postmortem approved",
        NotifyEvent.ACTION_REMINDER: "Action item reminder",
        NotifyEvent.ACTION_DIGEST: "Action items this week",
    },
}


SIMILAR = {
    "zh": ("同类事故：", "（{date}，{status}）", "，其行动计划 {n} 项未完成", "；"),
    "en": (
        "Similar incidents: ",
        " ({date}, {status})",
        ", {n} action plan items still open",
        "; ",
    ),
}


def similar_note(found: Similar, language: str, zone: str) -> str | None:
    """`同类事故：#12（11-02，已批准），其行动计划 2 项未完成；#9（10-15，已批准）`, or None."""
    if not found.linked:
        return None
    lead, each, still_open, sep = SIMILAR.get(language, SIMILAR["zh"])
    statuses = wording.labels(language).statuses
    parts = []
    for match in found.linked:
        past = match.past
        when = in_zone(past.started_at, ZoneInfo(zone)).strftime("%m-%d")
        text = f"#{past.id}" + each.format(date=when, status=statuses.get(past.status, past.status))
        if past.open_actions:
            text += still_open.format(n=past.open_actions)
        parts.append(text)
    return lead + sep.join(parts)


def review_link(public_url: str | None, incident_id: int) -> str | None:
    return f"{public_url.rstrip('/')}/incidents/{incident_id}" if public_url else None


def compose(
    event: NotifyEvent,
    incident: Incident,
    *,
    language: str,
    zone: str,
    public_url: str | None,
    acknowledged_by: str | None,
    suspect: str = "",
    notes: tuple[str, ...] = (),
    verdict: Verdict | None = None,
) -> Message:
    assert incident.id is not None
    ended = incident.ended_at
    return Message(
        event=event,
        language=language,
        incident_id=incident.id,
        headline=HEADLINES[language][event],
        title=incident.title,
        severity=incident.priority,
        service=incident.service,
        status=incident.status.value,
        started_at=incident.started_at,
        zone=zone,
        duration=None if ended is None else max(ended - incident.started_at, timedelta(0)),
        acknowledged_by=acknowledged_by,
        link=review_link(public_url, incident.id),
        suspect=suspect,
        notes=notes,
        postmortem=None if verdict is None else postmortem_text(verdict, language),
    )


POLICY_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "budget": "需要（错误预算消耗 {detail}{slo}）",
        "impact": "需要（用户受影响 {detail} 分钟{slo}）",
        "detect": "需要（发现用时 {detail} 分钟{slo}）",
        "priority": "需要（事故级别 {detail}）",
        "person": "需要（由 {detail} 标记）",
        "pending": "待定（SLO 数据尚未获取完整）",
        "none": "无需（no_postmortem_needed：未达到任何触发条件）",
        "slo": "，SLO {name}",
    },
    "en": {
        "budget": "required (error budget burned {detail}{slo})",
        "impact": "required (users affected {detail} min{slo})",
        "detect": "required (time to detect {detail} min{slo})",
        "priority": "required (priority {detail})",
        "person": "required (marked by {detail})",
        "pending": "not settled (the SLO figures are not all in yet)",
        "none": "not needed (no_postmortem_needed: no trigger met)",
        "slo": ", SLO {name}",
    },
}


def postmortem_text(verdict: Verdict, language: str) -> str:
    """The policy's verdict in one line: which trigger was met, or why none was."""
    words = POLICY_WORDS[language]
    if not verdict.required:
        return words["pending" if verdict.unknown else "none"]
    slo = words["slo"].format(name=verdict.slo) if verdict.slo else ""
    return words[verdict.trigger].format(detail=verdict.detail, slo=slo)


def sample_message(settings: Settings, now: datetime) -> Message:
    """What `notify test` sends: a made-up draft-written message, said to be a test."""
    test = {"zh": "【测试消息】", "en": "[Test message] "}[settings.language]
    return Message(
        event=NotifyEvent.DRAFT_WRITTEN,
        language=settings.language,
        incident_id=0,
        headline=test + HEADLINES[settings.language][NotifyEvent.DRAFT_WRITTEN],
        title=test + "HighErrorRate: checkout 5xx > 5%",
        severity="P1",
        service="checkout",
        status="drafted",
        started_at=now - timedelta(minutes=47),
        zone=settings.timezone,
        duration=timedelta(minutes=42),
        acknowledged_by="on-call",
        link=review_link(settings.public_url, 0),
    )
