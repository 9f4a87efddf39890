"""Manual events, silence acknowledgements and reconciliation: the model and the endpoint."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import ValidationError

from receiver.alertmanager.silences import Silence
from receiver.app import create_app
from receiver.config import DEFAULT_SEVERITY_MAP, Settings
from receiver.domain.acknowledgements import acknowledge_from_silences
from receiver.domain.events import EVENT_ROWS, EventType, apply_event, open_manual_incident
from receiver.domain.incident import Change, EntryKind, IncidentStatus, Phase, Rules, Source
from receiver.domain.lifecycle import (
    apply_webhook,
    incident_key,
    mark_stale,
    open_incident,
    reconcile,
)
from receiver.usecases.record_event import ManualEvent
from tests.conftest import FIXTURES, Clock, capture_text, hook
from tests.inbox import wait_applied

RULES = Rules(severity_map=DEFAULT_SEVERITY_MAP)
NOW = datetime(2026, 11, 26, 19, 12, 0, tzinfo=UTC)
ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


def event(kind: str, **fields: Any) -> ManualEvent:
    values: dict[str, Any] = {"type": kind, "service": "payments", "message": "m", "actor": "lisi"}
    values.update(fields)
    return ManualEvent.model_validate(values)


def firing_group() -> Change:
    body = hook("firing_group_3")
    change = open_incident(body, incident_key(body), NOW, RULES)
    return apply_webhook(change, body, NOW, RULES)


def silence(**overrides: Any) -> Silence:
    """The real silence request of the capture, as Alertmanager's API lists it."""
    data = json.loads((FIXTURES / "silence_create_request.json").read_text())
    data.update(id="d1e97619-2209-47e1-8473-296fb7a4ae92", status={"state": "active"})
    data.update(overrides)
    return Silence.model_validate(data)


# -- the model ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(EventType))
def test_every_event_type_lands_in_its_phase_with_its_person(kind: EventType) -> None:
    change = apply_event(Change(state=firing_group().state), event(kind), "event:k", NOW)
    (row,) = change.new_entries
    assert (row.kind, row.phase) == EVENT_ROWS[kind]
    assert row.actor == "lisi"
    assert row.source is Source.MANUAL
    assert row.note == "m"


def test_phases_follow_the_template() -> None:
    assert {k.value for k, (_, p) in EVENT_ROWS.items() if p is Phase.DETECT} == {
        "system-alert",
        "ack",
        "assemble",
    }
    assert {k.value for k, (_, p) in EVENT_ROWS.items() if p is Phase.RECOVER} == {
        "verify",
        "monitor-ok",
        "notify-users",
        "resolve",
    }


def test_same_idempotency_key_records_once() -> None:
    state = firing_group().state
    first = apply_event(Change(state=state), event("rollback"), "event:abc", NOW)
    again = apply_event(Change(state=state), event("rollback"), "event:abc", NOW)
    assert first.touched
    assert not again.touched


def test_resolve_closes_a_manual_incident_but_not_firing_alerts() -> None:
    opened = open_manual_incident(event("system-alert", severity="critical"), NOW, RULES)
    apply_event(opened, event("system-alert", severity="critical"), "event:1", NOW)
    incident = opened.state.incident
    assert incident.priority == "P1"
    assert incident.status is IncidentStatus.FIRING
    later = NOW + timedelta(minutes=20)
    closed = apply_event(Change(state=opened.state), event("resolve", at=later), "event:2", later)
    assert closed.recovered
    assert incident.ended_at == later
    assert EntryKind.ALL_RESOLVED not in {e.kind for e in closed.new_entries}

    alerts = firing_group()
    kept = apply_event(Change(state=alerts.state), event("resolve"), "event:3", NOW)
    assert not kept.recovered
    assert alerts.state.incident.status is IncidentStatus.FIRING


def test_manual_severity_may_name_the_priority() -> None:
    opened = open_manual_incident(event("system-alert", severity="P0"), NOW, RULES)
    assert opened.state.incident.priority == "P0"


def test_event_fields_are_validated() -> None:
    for bad in (
        {"type": "reboot"},
        {"service": ""},
        {"message": ""},
        {"actor": ""},
        {"message": "x" * 2001},
        {"at": "2026-11-26T14:00:00"},
        {"incident_id": 0},
        {"unknown": "field"},
    ):
        values: dict[str, Any] = {"type": "ack", "service": "s", "message": "m", "actor": "a"}
        values.update(bad)
        with pytest.raises(ValidationError):
            ManualEvent.model_validate(values)


def test_silence_matching_the_alerts_acknowledges_once() -> None:
    change = firing_group()
    matching = silence(
        matchers=[
            {"name": "alertname", "value": "HighLatencyP99", "isRegex": False},
            {"name": "instance", "value": r"10\.0\.2\.1[12]:9100", "isRegex": True},
        ],
        createdBy="zhangsan",
        comment="正在排查",
        startsAt="2026-11-26T19:20:00Z",
    )
    other = silence(id="other", startsAt="2026-11-26T19:20:00Z")  # checkout: no match
    acked = acknowledge_from_silences(Change(state=change.state), [matching, other])
    (row,) = acked.new_entries
    assert (row.kind, row.phase, row.source) == (EntryKind.ACK, Phase.DETECT, Source.SILENCE)
    assert row.actor == "zhangsan"
    assert row.note == "正在排查"
    assert row.at == datetime(2026, 11, 26, 19, 20, tzinfo=UTC)
    assert not acknowledge_from_silences(Change(state=change.state), [matching]).touched


def test_silences_before_the_incident_or_negative_do_not_acknowledge() -> None:
    change = firing_group()
    earlier = silence(
        matchers=[{"name": "service", "value": "payments"}], startsAt="2026-11-26T18:00:00Z"
    )
    negative = silence(
        id="neg",
        matchers=[{"name": "service", "value": "payments", "isEqual": False}],
        startsAt="2026-11-26T19:20:00Z",
    )
    assert not acknowledge_from_silences(Change(state=change.state), [earlier, negative]).touched


def test_alerts_gone_from_alertmanager_resolve_and_recover() -> None:
    change = firing_group()
    state = change.state
    fingerprints = [e.fingerprint for e in state.episodes.values()]
    asked = NOW + timedelta(minutes=5)
    partly = reconcile(Change(state=state), set(fingerprints[:2]), asked, asked)
    assert [e.kind for e in partly.new_entries] == [EntryKind.ALERT_GONE]
    assert not partly.recovered
    done = reconcile(Change(state=state), set(), asked, asked + timedelta(seconds=1))
    assert done.recovered
    all_resolved = done.new_entries[-1]
    assert all_resolved.kind is EntryKind.ALL_RESOLVED
    assert all_resolved.source is Source.RECONCILE
    assert all_resolved.note == ""  # no notification arrived
    assert state.incident.ended_at == asked
    assert state.incident.status is IncidentStatus.RECOVERED
    # a late resolve webhook adds no second row for the same alert
    late = apply_webhook(Change(state=state), hook("resolved_group_3"), asked, RULES)
    assert EntryKind.ALERT_RESOLVED not in {e.kind for e in late.new_entries}


def test_alert_first_seen_after_asking_is_not_judged() -> None:
    change = firing_group()
    before = NOW - timedelta(seconds=1)
    assert not reconcile(Change(state=change.state), set(), before, NOW).touched


def test_stale_is_marked_once_and_a_new_delivery_revives() -> None:
    change = firing_group()
    state = change.state
    stale = mark_stale(Change(state=state), NOW, timedelta(hours=5))
    assert state.incident.status is IncidentStatus.STALE
    assert state.incident.is_open
    assert [e.kind for e in stale.new_entries] == [EntryKind.STALE]
    assert not mark_stale(Change(state=state), NOW, timedelta(hours=6)).touched
    # a repeat of the same notification is enough: Alertmanager is talking again
    revived = apply_webhook(Change(state=state), hook("firing_group_3"), NOW, RULES)
    assert revived.state.incident.status.value == "firing"


# -- the endpoint -----------------------------------------------------------------------


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, settings: Settings, clock: Clock
) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(settings, clock=clock))


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def test_form_and_json_events_and_idempotency(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    fields = {
        "type": "system-alert",
        "service": "orders",
        "severity": "critical",
        "message": "订单接口大量超时",
        "details": "5xx > 20%",
        "actor": "zhaoliu",
        "idempotency_key": "run-1",
    }
    opened = await client.post("/api/v1/events", data=fields)
    assert opened.status == 201
    body = await opened.json()
    assert body["status"] == "recorded"
    assert body["created"] is True
    assert body["incident_url"].endswith(f"/incidents/{body['incident_id']}")
    again = await client.post("/api/v1/events", data=fields)
    assert again.status == 200
    assert (await again.json())["status"] == "duplicate"

    clock.advance(minutes=3)
    rollback = await client.post(
        "/api/v1/events",
        json={
            "type": "rollback",
            "service": "orders",
            "message": "回滚 orders-api",
            "actor": "wangwu",
        },
        headers={"Idempotency-Key": "rb-1"},
    )
    assert rollback.status == 201
    detail = await (await client.get(f"/api/v1/incidents/{body['incident_id']}")).json()
    rows = [(r["kind"], r["phase"], r["actor"], r["note"]) for r in detail["timeline"]]
    assert rows == [
        ("incident_opened", "detect", "zhaoliu", ""),
        ("manual_alert", "detect", "zhaoliu", "订单接口大量超时"),
        ("rollback", "handle", "wangwu", "回滚 orders-api"),
    ]
    assert detail["timeline"][1]["detail"] == "5xx > 20%"
    assert detail["priority"] == "P1"

    clock.advance(minutes=10)
    closed = await client.post(
        "/api/v1/events", data={**fields, "type": "resolve", "idempotency_key": "end"}
    )
    assert (await closed.json())["draft_revision"] == 1
    draft = await (
        await client.get(f"/api/v1/incidents/{body['incident_id']}/postmortem.md")
    ).text()
    assert "| 故障三板斧 - 回滚 | wangwu | 手动上报 `rollback`：回滚 orders-api |" in draft
    assert "| 事故结束 | zhaoliu |" in draft


async def test_event_errors(client: TestClient[Any, Any]) -> None:
    unknown = await client.post(
        "/api/v1/events", data={"type": "reboot", "service": "s", "message": "m", "actor": "a"}
    )
    assert unknown.status == 422
    message = (await unknown.json())["message"]
    assert all(t.value in message for t in EventType)
    nothing_open = await client.post(
        "/api/v1/events", data={"type": "ack", "service": "nope", "message": "m", "actor": "a"}
    )
    assert nothing_open.status == 404
    error = await nothing_open.json()
    assert error["error"] == "no_open_incident"
    assert "nope" in error["message"]
    no_incident = await client.post(
        "/api/v1/events",
        data={"type": "ack", "service": "s", "message": "m", "actor": "a", "incident_id": "999"},
    )
    assert no_incident.status == 404
    missing = await client.post("/api/v1/events", json={"type": "ack"})
    assert missing.status == 422
    fields = {d["field"] for d in (await missing.json())["details"]}
    assert {"service", "message", "actor"} <= fields
    wrong_type = await client.post(
        "/api/v1/events", data=b"x", headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status == 415
    _, total = 0, (await (await client.get("/api/v1/incidents")).json())["total"]
    assert total == 0


async def test_events_join_the_alertmanager_incident_and_refresh_its_draft(
    client: TestClient[Any, Any], clock: Clock
) -> None:
    await client.post(
        "/api/v1/alerts",
        data=capture_text("firing_group_3"),
        headers={"Content-Type": "application/json"},
    )
    clock.advance(minutes=2)
    ack = await client.post(
        "/api/v1/events",
        data={"type": "ack", "service": "payments", "message": "确认 P2", "actor": "zhangsan"},
    )
    assert (await ack.json())["incident_id"] == 1
    clock.advance(minutes=2)
    resolved = await client.post(
        "/api/v1/alerts",
        data=capture_text("resolved_group_3"),
        headers={"Content-Type": "application/json"},
    )
    # drafted before the verify arrives (else one batch applies both, and the draft's
    # first revision already holds the verify: nothing to refresh)
    await wait_applied(client, await resolved.json(), state="applied")
    first_answer = await client.get("/api/v1/incidents/1/postmortem.md")
    assert first_answer.status == 200
    first = await first_answer.text()
    assert "功能验证 | zhangsan" not in first
    clock.advance(minutes=1)
    verify = await client.post(
        "/api/v1/events",
        data={
            "type": "verify",
            "service": "payments",
            "message": "成功率恢复",
            "actor": "zhangsan",
        },
    )
    assert (await verify.json())["draft_revision"] == 1  # the same revision, refreshed
    draft = await (await client.get("/api/v1/incidents/1/postmortem.md")).text()
    assert "| 功能验证 | zhangsan | 手动上报 `verify`：成功率恢复 |" in draft
    assert "首个确认人为 zhangsan" in draft
    assert "，更新于 " in draft.splitlines()[0]
