#!/usr/bin/env python3
"""Regenerate the example drafts in examples/ from real Alertmanager captures.

    python scripts/make_example.py [--scenario NAME] [--language zh|en] [--out FILE]

Each scenario (sample, silenced, changes, recurring, slo) feeds tests/fixtures/firing_group_3.json
through the real service into a throwaway SQLite database, with a fixed clock and
times in Asia/Shanghai:

- `sample` (examples/sample-draft.*.md): then resolved_group_3.json, Alertmanager's
  resolve; the clock is set one second after each alert change, as Alertmanager would
  have delivered them.
- `changes` (examples/changes-draft.*.md): change feeds (Argo CD, Flux, GitHub) tell of
  deploys before the alerts fire and of a rollback while they fire; the draft lists the
  related ones in 变更记录, ranks the deploy first among 直接原因's 候选（待确认）, and
  makes the rollback a 处理阶段 row; a reconciliation pass finds the alerts gone.
- `silenced` (examples/silenced-draft.*.md): zhangsan silences the alerts, which the
  reconciler reads as the acknowledgement; people report ack, assemble, restart,
  root-cause and rollback as POST /api/v1/events records them; the alerts resolve while
  silenced, so no resolve arrives, and a reconciliation pass finds them gone.
- `recurring` (examples/recurring-draft.*.md): the `sample` incident, whose reviewer
  writes two action items (one done); twelve days later the same group fires and
  resolves again. The second incident's draft links the first under 历史同类事故, with
  the MTBF and the item still open (issue 21).
- `slo` (examples/slo-draft.*.md): the `silenced` story for a service with an
  availability SLO. Its figures are measured by the receiver's own code from request
  counters written out below (Prometheus' answers, as it would give them): the SLI
  missed its 99.9% objective four minutes before the alert fired, and the incident
  burned a good third of the 30-day error budget.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from receiver.alertmanager.silences import Silence
from receiver.alertmanager.webhook import Webhook
from receiver.config import load_settings
from receiver.config.slo import SloSettings
from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from receiver.evidence.prometheus import QueryResult
from receiver.evidence.record import EvidenceRecord
from receiver.evidence.series import Series
from receiver.evidence.slo import measure
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.usecases.reconcile import AlertmanagerView
from receiver.usecases.record_event import ManualEvent
from receiver.usecases.service import IncidentService

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


class Clock:
    """The service's clock: what 'now' is, set by the scenario."""

    def __init__(self) -> None:
        self.now = datetime.fromtimestamp(0).astimezone()

    def __call__(self) -> datetime:
        return self.now


def capture(name: str) -> tuple[Webhook, str]:
    text = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    return Webhook.parse(json.loads(text)), text


async def deliver(service: IncidentService, clock: Clock, name: str) -> int:
    """A captured webhook, one second after its latest alert change; the incident's id."""
    hook, text = capture(name)
    clock.now = max(a.ends_at or a.starts_at for a in hook.alerts) + timedelta(seconds=1)
    return (await service.ingest_webhook(hook, text)).incident_id


async def sample(service: IncidentService, clock: Clock) -> int:
    """Three alerts fire and Alertmanager sends their resolve."""
    await deliver(service, clock, "firing_group_3")
    return await deliver(service, clock, "resolved_group_3")


# zhangsan's silence as GET /api/v2/silences returns it; its times are minutes after the
# alerts fired
SILENCE_ID = "4b6e7c1a-93d2-4f85-b0e1-2c7a9d5f3e68"
SILENCE_AT = timedelta(minutes=1, seconds=35)
# (after the alerts fired, TYPE, actor, message, details): what people report with
# alert-webhook.sh. The restart is the first try; the rollback, after the root cause, is
# what fixes it.
REPORTS = (
    (timedelta(minutes=2, seconds=30), "ack", "zhangsan", "确认 P2，开始排查", ""),
    (timedelta(minutes=4, seconds=5), "assemble", "zhangsan", "拉起 payments 值班群", ""),
    (timedelta(minutes=7, seconds=12), "restart", "lisi", "重启 payments-api 三个实例", ""),
    (
        timedelta(minutes=22, seconds=31),
        "root-cause",
        "zhangsan",
        "连接池配置被改小",
        "v2.32.0 把数据库连接池从 50 改为 5",
    ),
    (timedelta(minutes=24, seconds=2), "rollback", "wangwu", "回滚 payments-api 到 v2.31.4", ""),
)
# the reconcile passes (once a minute): one sees the silence, a later one the alerts gone
SILENCE_SEEN_AT = timedelta(minutes=2, seconds=10)
GONE_SEEN_AT = timedelta(minutes=26, seconds=49)


def zhangsans_silence(start: datetime) -> Silence:
    begins = start + SILENCE_AT
    return Silence.model_validate(
        {
            "id": SILENCE_ID,
            "status": {"state": "active"},
            "createdBy": "zhangsan",
            "comment": "正在排查 payments 延迟",
            "startsAt": begins,
            "endsAt": begins + timedelta(hours=2),
            "updatedAt": begins,
            "matchers": [
                {"name": name, "value": value, "isRegex": False, "isEqual": True}
                for name, value in (("alertname", "HighLatencyP99"), ("service", "payments"))
            ],
        }
    )


async def silenced(service: IncidentService, clock: Clock) -> int:
    """Three alerts fire and are silenced; people work on them; they resolve silently and
    reconciliation finds them gone."""
    incident_id = await deliver(service, clock, "firing_group_3")
    firing, _ = capture("firing_group_3")
    start = min(a.starts_at for a in firing.alerts)
    silences = [zhangsans_silence(start)]

    async def reconcile_pass(after: timedelta, present: set[str]) -> None:
        clock.now = start + after
        view = AlertmanagerView(silences, present, clock.now)
        await service.reconcile.apply_alertmanager_view(incident_id, view)

    await reconcile_pass(SILENCE_SEEN_AT, {a.fingerprint for a in firing.alerts})
    for after, kind, actor, message, details in REPORTS:
        clock.now = start + after
        fields: dict[str, Any] = {"type": kind, "service": "payments", "message": message}
        fields.update(actor=actor, severity="warning", details=details)
        # stored as POST /api/v1/events stores the fields it was sent
        raw = json.dumps(fields, ensure_ascii=False)
        await service.record_event(ManualEvent.model_validate(fields), raw)
    await reconcile_pass(GONE_SEEN_AT, set())
    return incident_id


# (after the first alert, source, type, service, namespace, summary, from, to, actor, link):
# what the change feeds tell. Argo CD's deploy 12 minutes before is the suspect; Flux's
# config change to a neighbour in the same namespace ranks below it; GitHub's deploy of
# another service shares nothing with the alerts; Argo CD's rollback during the incident
# becomes a 处理阶段 row.
CHANGES = (
    (
        -timedelta(minutes=41),
        ChangeSource.FLUX,
        ChangeType.CONFIG,
        "orders",
        "prod",
        "Kustomization prod/orders 配置更新",
        "main@sha1:1a2b3c4",
        "main@sha1:5d6e7f8",
        None,
        None,
    ),
    (
        -timedelta(minutes=12),
        ChangeSource.ARGOCD,
        ChangeType.DEPLOY,
        "payments",
        "prod",
        "payments-api 同步成功",
        "v2.31.4",
        "v2.32.0",
        "zhangsan",
        "https://argocd.example.com/applications/argocd/payments-api",
    ),
    (
        -timedelta(minutes=4),
        ChangeSource.GITHUB,
        ChangeType.DEPLOY,
        "search",
        "search",
        "search-api 部署到 production",
        None,
        "9f3e2d1",
        "lisi",
        "https://github.com/example/search-api/deployments",
    ),
    (
        timedelta(minutes=9, seconds=20),
        ChangeSource.ARGOCD,
        ChangeType.ROLLBACK,
        "payments",
        "prod",
        "payments-api 回滚",
        "v2.32.0",
        "v2.31.4",
        "wangwu",
        "https://argocd.example.com/applications/argocd/payments-api",
    ),
)
CHANGES_GONE_SEEN_AT = timedelta(minutes=14, seconds=10)


async def feed(
    service: IncidentService, clock: Clock, start: datetime, number: int, told: tuple[Any, ...]
) -> None:
    """One change as its feed tells it, received a few seconds after it started."""
    after, source, kind, name, namespace, summary, old, new, actor, link = told
    clock.now = start + after + timedelta(seconds=5)
    change = ServiceChange(
        source,
        f"example-{number}",
        kind,
        name,
        summary,
        start + after,
        namespace=namespace,
        from_version=old,
        to_version=new,
        actor=actor,
        link=link,
    )
    await service.record_change(change)


async def changes(service: IncidentService, clock: Clock) -> int:
    """Changes to services arrive from their feeds around three alerts; the alerts resolve
    after the rollback and a reconciliation pass finds them gone."""
    firing, _ = capture("firing_group_3")
    start = min(a.starts_at for a in firing.alerts)
    told = list(enumerate(CHANGES, 1))
    for number, change in told:
        if change[0] < timedelta(0):
            await feed(service, clock, start, number, change)
    incident_id = await deliver(service, clock, "firing_group_3")
    for number, change in told:
        if change[0] >= timedelta(0):
            await feed(service, clock, start, number, change)
    clock.now = start + CHANGES_GONE_SEEN_AT
    view = AlertmanagerView([], set(), clock.now)
    await service.reconcile.apply_alertmanager_view(incident_id, view)
    return incident_id


AGAIN_AFTER = timedelta(days=12)  # the same group fires again
ITEMS_WRITTEN_AFTER = timedelta(days=1)  # the review, a day after the first incident


def shifted(name: str, delta: timedelta) -> tuple[Webhook, str]:
    """A capture as Alertmanager would send it for a later firing of the same series."""
    body = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    for alert in body["alerts"]:
        for key in ("startsAt", "endsAt"):
            if not alert[key].startswith("0001"):
                moment = datetime.fromisoformat(alert[key].replace("Z", "+00:00")) + delta
                alert[key] = moment.isoformat().replace("+00:00", "Z")
    text = json.dumps(body, ensure_ascii=False, indent=2)
    return Webhook.parse(body), text


async def recurring(service: IncidentService, clock: Clock) -> int:
    """The sample incident with its action plan; the same group again twelve days later."""
    first = await sample(service, clock)
    firing, _ = capture("firing_group_3")
    start = min(a.starts_at for a in firing.alerts)
    clock.now = start + ITEMS_WRITTEN_AFTER
    items = [
        {"text": "连接池配置纳入发布检查", "owner": "zhangsan", "due": "2026-12-04"},
        {"text": "回滚 payments-api 到 v2.31.4", "owner": "wangwu", "done": True},
    ]
    await service.review.update_human_fields(first, {"actions": items}, "zhangsan")
    again = 0
    for name in ("firing_group_3", "resolved_group_3"):
        hook, text = shifted(name, AGAIN_AFTER)
        clock.now = max(a.ends_at or a.starts_at for a in hook.alerts) + timedelta(seconds=1)
        again = (await service.ingest_webhook(hook, text)).incident_id
    return again


# the `slo` scenario's SLO and what Prometheus answers for it: 2000 requests a minute,
# 0.8% of them failing from four minutes before the alert until the rollback took hold;
# over the 30-day window 1.2 million requests, 540 of them failed (this incident's too)
SLO = {
    "name": "availability",
    "objective": 99.9,
    "good": 'http_requests_total{service="payments",code!~"5.."}',
    "total": 'http_requests_total{service="payments"}',
    "users": "count(sum by (user) (rate(payments_failed_requests_by_user_total[5m])) > 0)",
}
IMPACT = (timedelta(minutes=-4), timedelta(minutes=24, seconds=30))
PER_MINUTE, FAILING = 2000, 0.008
WINDOW_TOTAL, WINDOW_FAILED = 1_200_000, 540


def answers(start: datetime) -> Callable[[str, datetime, datetime], Awaitable[QueryResult]]:
    """Prometheus' answers to the SLO's queries around an incident that began at start."""

    def counter(good: bool, since: datetime, until: datetime) -> list[tuple[datetime, float]]:
        points, value, moment = [], 0.0, since.replace(second=0, microsecond=0)
        while moment <= until:
            points.append((moment, value))
            failing = IMPACT[0] <= moment - start < IMPACT[1]
            value += PER_MINUTE * (1 - FAILING if failing and good else 1)
            moment += timedelta(minutes=1)
        return points

    async def ask(query: str, since: datetime, until: datetime) -> QueryResult:
        if query.startswith("sum(increase("):  # the SLO window's totals
            counted = WINDOW_TOTAL - WINDOW_FAILED if "5.." in query else WINDOW_TOTAL
            series = [Series({}, [(until, float(counted))])]
        elif query == SLO["users"]:
            series = [Series({}, [(since, 1234.0), (until, 1234.0)])]
        else:
            series = [Series({}, counter(query == SLO["good"], since, until))]
        return QueryResult(series, timedelta(minutes=1))

    return ask


async def slo(service: IncidentService, clock: Clock) -> int:
    """The `silenced` story; then the receiver measures the SLO and freezes its figures."""
    incident_id = await silenced(service, clock)
    firing, _ = capture("firing_group_3")
    start = min(a.starts_at for a in firing.alerts)
    settings = SloSettings.model_validate(SLO)
    window = (start - timedelta(minutes=30), start + timedelta(minutes=45))
    incident = (start, start + GONE_SEEN_AT)
    figure, _ = await measure(answers(start), settings, window, incident)
    clock.now = start + timedelta(minutes=27, seconds=20)  # fetched after the recovery
    record = EvidenceRecord(clock.now, *window, "http://prometheus:9090", slos=[figure])
    await service.evidence.store(incident_id, record, 0)
    return incident_id


SCENARIOS: dict[str, Callable[[IncidentService, Clock], Awaitable[int]]] = {
    "sample": sample,
    "silenced": silenced,
    "changes": changes,
    "recurring": recurring,
    "slo": slo,
}
# settings a scenario needs beyond the common ones
SCENARIO_SETTINGS: dict[str, dict[str, Any]] = {
    "slo": {"prometheus_url": "http://prometheus:9090", "slos": {"payments": [SLO]}},
}


async def render(language: str, scenario: str = "sample") -> str:
    with tempfile.TemporaryDirectory() as scratch:
        settings = load_settings(
            database_url=f"sqlite:///{scratch}/example.db",
            drafts_dir="",
            timezone="Asia/Shanghai",
            language=language,
            public_url="https://postmortem.example.com",
            **SCENARIO_SETTINGS.get(scenario, {}),
        )
        database = open_configured_database(settings)
        await database.migrate()
        clock = Clock()
        service = IncidentService(
            database, settings, DraftRenderer(settings.template_dir), clock=clock
        )
        try:
            incident_id = await SCENARIOS[scenario](service, clock)
            return (await service.queries.current_draft(incident_id)).markdown
        finally:
            await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="sample", choices=sorted(SCENARIOS))
    parser.add_argument("--language", default="zh", choices=["zh", "en"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or ROOT / "examples" / f"{args.scenario}-draft.{args.language}.md"
    out.write_text(asyncio.run(render(args.language, args.scenario)), encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main()
