"""A made-up incident for checking templates (`check-config`): every row kind, people's
fields, a previous incident. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from receiver.domain.history import History
from receiver.domain.incident import (
    EntryKind,
    Episode,
    Incident,
    IncidentStatus,
    Phase,
    Source,
    TimelineEntry,
)
from receiver.domain.review import ActionItem, HumanFields, Improvement
from receiver.domain.suspects import Verdict, VerdictMark
from receiver.postmortem.view import DraftInput

_START = datetime(2026, 1, 5, 6, 2, 10, tzinfo=UTC)


def _episode(index: int) -> Episode:
    instance = f"10.0.2.1{index}:9100"
    return Episode(
        fingerprint=f"{index:016x}",
        starts_at=_START + timedelta(seconds=30 * index),
        ends_at=_START + timedelta(minutes=27, seconds=10 * index),
        resolved=True,
        labels={
            "alertname": "HighLatencyP99",
            "service": "payments",
            "namespace": "prod",
            "job": "payments-api",
            "severity": "warning",
            "instance": instance,
        },
        annotations={
            "summary": f"payments P99 latency high ({instance})",
            "description": f"{instance} P99 2.3s > 1s",
            "runbook_url": "https://runbooks.example.com/payments/high-latency",
        },
        generator_url="http://prometheus.example:9090/graph?g0.expr=up%20%3D%3D%200&g0.tab=1",
        cycle=1,
        first_seen_at=_START + timedelta(minutes=1),
    )


def sample_draft_input() -> DraftInput:
    episodes = [_episode(index) for index in range(1, 4)]
    end = max(e.ends_at for e in episodes if e.ends_at)
    incident = Incident(
        id=1,
        key="sample",
        receiver="incident-webhook",
        group_key='{}:{alertname="HighLatencyP99", service="payments"}',
        group_labels={"alertname": "HighLatencyP99", "service": "payments"},
        common_labels={"alertname": "HighLatencyP99", "service": "payments"},
        common_annotations={},
        external_url="http://alertmanager.example:9093",
        title="payments P99 latency high",
        priority="P2",
        status=IncidentStatus.DRAFTED,
        opened_at=_START + timedelta(minutes=1),
        started_at=_START,
        ended_at=end,
        updated_at=end,
        service="payments",
    )

    def row(
        minutes: int,
        phase: Phase,
        kind: EntryKind,
        source: Source,
        actor: str | None,
        subject: str = "",
        note: str = "",
    ) -> TimelineEntry:
        at = _START + timedelta(minutes=minutes)
        return TimelineEntry(at, phase, kind, source, f"{kind}:{minutes}", actor, subject, note)

    timeline = [
        *(
            TimelineEntry(
                e.starts_at,
                Phase.DETECT,
                EntryKind.ALERT_FIRED,
                Source.ALERTMANAGER,
                f"fired:{e.fingerprint}",
                subject=e.subject,
            )
            for e in episodes
        ),
        row(1, Phase.DETECT, EntryKind.INCIDENT_OPENED, Source.ALERTMANAGER, None),
        row(7, Phase.DETECT, EntryKind.ACK, Source.SILENCE, "zhangsan", "s1", "looking"),
        row(10, Phase.DETECT, EntryKind.ASSEMBLE, Source.MANUAL, "lisi", "assemble", "on call"),
        row(18, Phase.HANDLE, EntryKind.ROLLBACK, Source.MANUAL, "wangwu", "rollback", "v2.31.4"),
        *(
            TimelineEntry(
                e.ends_at or end,
                Phase.RECOVER,
                EntryKind.ALERT_RESOLVED,
                Source.ALERTMANAGER,
                f"resolved:{e.fingerprint}",
                subject=e.subject,
            )
            for e in episodes
        ),
        TimelineEntry(
            end,
            Phase.RECOVER,
            EntryKind.ALL_RESOLVED,
            Source.ALERTMANAGER,
            "all_resolved:1",
            subject="3",
            note=end.isoformat(),
        ),
        row(30, Phase.RECOVER, EntryKind.VERIFY, Source.MANUAL, "zhangsan", "verify", "ok"),
    ]
    human = HumanFields(
        owner="zhangsan",
        root_cause_technical="pool too small",
        actions=[ActionItem(text="raise pool size", owner="lisi")],
        improvements=[Improvement(text="load test before release", done=True)],
    )
    return DraftInput(
        incident=incident,
        episodes=episodes,
        timeline=timeline,
        history=History(_START - timedelta(days=14), 3, 0),
        revision=1,
        created_at=end,
        now=end + timedelta(minutes=3),
        human=human,
        changes=_changes(),
        verdicts=[VerdictMark(2, Verdict.UNRELATED, "lisi", end)],
    )


def _changes() -> list[ServiceChange]:
    """A deploy just before the first alert, a neighbour's config change a person ruled
    out, a rollback people reported too, and a scale-out only the cluster told of."""

    def change(
        change_id: int, minutes: int, type: ChangeType, service: str, **more: str
    ) -> ServiceChange:
        return ServiceChange(
            source=ChangeSource(more.pop("source", "argocd")),
            source_id=f"sample-{change_id}",
            type=type,
            service=service,
            summary=more.pop("summary"),
            started_at=_START + timedelta(minutes=minutes),
            namespace="prod",
            id=change_id,
            **more,  # type: ignore[arg-type]
        )

    return [
        change(
            1,
            -15,
            ChangeType.DEPLOY,
            "payments",
            summary="payments-api v2.32.0",
            from_version="v2.31.4",
            to_version="v2.32.0",
            actor="zhangsan",
            link="https://argocd.example.com/applications/payments-api",
        ),
        change(2, -40, ChangeType.CONFIG, "orders", summary="orders pool", source="flux"),
        change(
            3,
            18,
            ChangeType.ROLLBACK,
            "payments",
            summary="payments-api back to v2.31.4",
            from_version="v2.32.0",
            to_version="v2.31.4",
            actor="wangwu",
        ),
        change(
            4,
            12,
            ChangeType.SCALE,
            "payments",
            summary="Scaled up replica set payments-api-7d9f to 6",
            source="kubernetes",
            actor="system:serviceaccount:kube-system:horizontal-pod-autoscaler",
        ),
    ]
