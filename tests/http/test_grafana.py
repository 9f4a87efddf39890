"""Grafana-managed alerts: Grafana's webhook contact point body on /api/v1/alerts, its HMAC
signature, and acknowledgements and reconciliation against Grafana's Alertmanager API.

The bodies are the examples of Grafana's webhook-notifier documentation
(tests/fixtures/grafana/README.md); what they do not show (a resolve, dashboard links,
a second Grafana of an HA pair) is derived from them here, as Grafana's notifier sets it.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import io
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from receiver.alertmanager.client import AlertmanagerClient
from receiver.alertmanager.grafana import (
    DASHBOARD_URL,
    PANEL_URL,
    VALUES,
    GrafanaWebhook,
    format_figure,
    format_value_string,
    grafana_root,
)
from receiver.alertmanager.presence import AnswerWindow
from receiver.app import create_app
from receiver.config import Settings, load_settings
from receiver.postmortem.render import DraftRenderer
from receiver.replay import ReplayClock, replay_inbox
from receiver.store import open_configured_database
from receiver.usecases.service import IncidentService
from receiver.web.keys import METRICS, SERVICE
from receiver.workers.reconciler import Reconciler
from tests.conftest import FIXTURES, Clock, capture_text
from tests.grafana_fake import FakeGrafana, gettable_alert, gettable_silence
from tests.inbox import applied

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
ServerFactory = Callable[..., Awaitable[TestServer]]
JSON = {"Content-Type": "application/json"}
DASHBOARD = "https://play.grafana.org/d/c9c4f4b1/node-exporter?orgId=1"
PANEL = "https://play.grafana.org/d/c9c4f4b1/node-exporter?orgId=1&viewPanel=4"
IMAGE = "https://play.grafana.org/public/img/attachments/nAnOWZO8UrBZ0Sm2.png"
SECRET = "hmac-shared-secret"


def documented(name: str = "webhook_values") -> dict[str, Any]:
    body = json.loads((FIXTURES / "grafana" / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(body, dict)
    return body


def linked(body: dict[str, Any]) -> dict[str, Any]:
    """The documented body for a rule linked to a dashboard panel, with a screenshot."""
    out = copy.deepcopy(body)
    for alert in out["alerts"]:
        alert["dashboardURL"] = DASHBOARD
        alert["panelURL"] = PANEL
    out["alerts"][0]["imageURL"] = IMAGE
    return out


def resolved(body: dict[str, Any], *indexes: int) -> dict[str, Any]:
    """The notification Grafana sends when these alerts (all, by default) resolve ten
    minutes after they started: their `endsAt` set, the rules' current values."""
    out = copy.deepcopy(body)
    chosen = indexes or tuple(range(len(out["alerts"])))
    for index in chosen:
        alert = out["alerts"][index]
        starts = datetime.fromisoformat(alert["startsAt"])
        alert["status"] = "resolved"
        alert["endsAt"] = (starts + timedelta(minutes=10)).isoformat()
        if "values" in alert:
            alert["values"] = {"B": 12.5, "C": 0}
    if all(alert["status"] == "resolved" for alert in out["alerts"]):
        out["status"], out["state"] = "resolved", "ok"
        out["title"] = "[RESOLVED]  (blue)"
    return out


async def post(client: TestClient[Any, Any], body: dict[str, Any], **headers: str) -> Any:
    data = io.BytesIO(json.dumps(body).encode())  # aiohttp wants large bodies as a stream
    return await client.post("/api/v1/alerts", data=data, headers={**JSON, **headers})


async def posted(client: TestClient[Any, Any], body: dict[str, Any], **headers: str) -> Any:
    """Post (202), then wait for it to be applied: what it did (tests.inbox.applied)."""
    answer = await post(client, body, **headers)
    assert answer.status == 202, await answer.text()
    return await applied(client, await answer.json(), headers=headers)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    # no reconciler in the background: it would ask the documented play.grafana.org
    return make_settings(reconcile_interval="0s")


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, settings: Settings, clock: Clock
) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(settings, clock=clock))


async def detail(client: TestClient[Any, Any], incident_id: int = 1) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/incidents/{incident_id}")
    assert answer.status == 200
    body: dict[str, Any] = await answer.json()
    return body


# -- the body, translated ---------------------------------------------------------------


def test_documented_bodies_become_alertmanager_webhooks_with_grafanas_extras() -> None:
    hook = GrafanaWebhook.parse(linked(documented())).as_webhook()
    assert hook.receiver == "My Super Webhook"
    assert hook.group_key == "{}:{}"
    assert hook.external_url == "https://play.grafana.org/api/alertmanager/grafana"
    assert grafana_root(hook.external_url) == "https://play.grafana.org"
    first = hook.alerts[0]
    assert first.fingerprint == "c6eadffa33fcdf37"
    assert first.starts_at.isoformat() == "2021-10-12T07:51:03.157076+00:00"
    assert first.ends_at is None  # Go's zero time
    assert first.annotations[VALUES] == "B=44.24, C=1"
    assert first.annotations[DASHBOARD_URL] == DASHBOARD
    assert first.annotations[PANEL_URL] == PANEL
    assert first.annotations["summary"] == "This alert was triggered for zone us-1"

    older = GrafanaWebhook.parse(documented("webhook_value_string")).as_webhook()
    assert [a.annotations[VALUES] for a in older.alerts] == ["value=14151.33", "value=47043.7"]
    # no link Grafana left empty becomes an annotation
    assert DASHBOARD_URL not in older.alerts[0].annotations


def test_values_read_like_the_rule_editor_shows_them() -> None:
    assert format_figure(44.23943737541908) == "44.24"
    assert format_figure(1.0) == "1"
    assert format_figure(-3.0) == "-3"
    assert format_figure(0.000123456) == "0.000123"
    assert format_figure(2.5e20) == "2.5e+20"
    assert (
        format_value_string(
            "[ var='B' labels={instance=10.0.0.1:9100} value=44.2 ], "
            "[ var='C' labels={instance=10.0.0.1:9100} value=1 ]"
        )
        == "B=44.2, C=1"
    )
    classic = (
        "[ var='B0' metric='{cluster=\"crdb\", instance=\"crdb-node02:8080\"}' "
        "labels={cluster=crdb, instance=crdb-node02:8080} value=4299.282962962963 ], "
        "[ var='A' labels={name=backups} type='query' value=0 ]"
    )
    assert format_value_string(classic) == "B0=4299.28, A=0"
    assert format_value_string("[ var='A' labels={} value=<nil> ]") == "A=<nil>"
    assert format_value_string("something  else\nentirely") == "something else entirely"


# -- over HTTP: incidents, episodes, drafts -------------------------------------------


@pytest.mark.parametrize("fixture", ["webhook_values", "webhook_value_string"])
async def test_firing_then_resolved_gives_one_incident_and_a_draft_with_grafanas_links_and_values(
    client: TestClient[Any, Any], settings: Settings, clock: Clock, fixture: str
) -> None:
    firing = linked(documented(fixture))
    answer = await posted(client, firing)
    assert (answer["code"], answer["incident_status"]) == (201, "firing")

    clock.advance(minutes=20)
    result = await posted(client, resolved(firing))
    assert result["code"] == 200
    assert result["incident_status"] == "drafted"
    assert result["draft_revision"] == 1
    listing = await (await client.get("/api/v1/incidents")).json()
    assert listing["total"] == 1

    found = await detail(client)
    assert [alert["status"] for alert in found["alerts"]] == ["resolved", "resolved"]
    fired = [row for row in found["timeline"] if row["kind"] == "alert_fired"]
    values = (
        ["B=44.24, C=1"] * 2 if fixture == "webhook_values" else ["value=14151.33", "value=47043.7"]
    )
    assert [row["detail"] for row in fired] == values  # the firing values, not the resolve's

    draft = await (await client.get("/api/v1/incidents/1/postmortem.md")).text()
    assert f"- [仪表盘]({DASHBOARD})" in draft
    assert f"- [仪表盘面板]({PANEL})" in draft
    assert f"- [告警截图]({IMAGE})" in draft
    assert "- [告警规则（Grafana）](https://play.grafana.org/alerting/1afz29v7z/edit)" in draft
    assert "- [Grafana：告警分组](https://play.grafana.org/alerting/groups)" in draft
    assert "收到 Grafana 首条 webhook" in draft
    assert f"自动告警 High memory usage，触发时查询值 {values[0]}" in draft
    assert "**触发时的查询值**（来自 Grafana 告警规则" in draft
    assert f"- High CPU usage：{values[1]}" in draft
    assert "Alertmanager：本告警组" not in draft
    assert settings.drafts_dir is not None
    assert [path.read_text(encoding="utf-8") for path in settings.drafts_dir.iterdir()] == [draft]

    inbox = await client.app[SERVICE].queries.inbox(since=None, incident_id=1, after_id=0, limit=10)
    assert [record.kind for record in inbox] == ["grafana", "grafana"]


async def test_english_draft_names_grafana_too(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    client = await aiohttp_client(
        create_app(make_settings(language="en", reconcile_interval="0s"), clock=clock)
    )
    firing = linked(documented())
    assert (await posted(client, firing))["code"] == 201
    clock.advance(minutes=20)
    assert (await posted(client, resolved(firing)))["code"] == 200
    draft = await (await client.get("/api/v1/incidents/1/postmortem.md")).text()
    assert "First Grafana webhook received" in draft
    assert "query values when it fired: B=44.24, C=1" in draft
    assert f"- [Dashboard panel]({PANEL})" in draft
    assert "- [Alert rule (Grafana)](https://play.grafana.org/alerting/1afz29v7z/edit)" in draft


async def test_a_second_grafana_of_an_ha_pair_changes_nothing(client: TestClient[Any, Any]) -> None:
    first = documented()
    assert (await posted(client, first))["code"] == 201
    before = await detail(client)
    # the other instance of the pair: the same notification, its own externalURL
    second = copy.deepcopy(first)
    second["externalURL"] = "https://grafana-2.example.org/"
    answer = await posted(client, second)
    assert (answer["code"], answer["status"]) == (200, "duplicate")
    after = await detail(client)
    assert after["timeline"] == before["timeline"]
    assert after["alerts"] == before["alerts"]


async def test_a_mixed_body_is_judged_per_alert(client: TestClient[Any, Any], clock: Clock) -> None:
    firing = documented()
    assert (await posted(client, firing))["code"] == 201
    clock.advance(minutes=12)
    # the group still fires (status "firing"), but its first alert has resolved
    mixed = resolved(firing, 0)
    assert mixed["status"] == "firing"
    answer = await posted(client, mixed)
    assert (answer["code"], answer["incident_status"]) == (200, "firing")
    found = await detail(client)
    assert {a["fingerprint"]: a["status"] for a in found["alerts"]} == {
        "c6eadffa33fcdf37": "resolved",
        "bc97ff14869b13e3": "firing",
    }
    assert [row["kind"] for row in found["timeline"]].count("alert_resolved") == 1

    clock.advance(minutes=5)
    assert (await posted(client, resolved(firing)))["incident_status"] == "drafted"


async def test_a_body_of_neither_shape_still_gets_the_clear_422(
    client: TestClient[Any, Any],
) -> None:
    other = documented()
    other["version"] = "2"
    answer = await post(client, other)
    assert answer.status == 422
    error = await answer.json()
    assert error["error"] == "invalid_webhook"
    assert error["message"].startswith(
        "the body is neither an Alertmanager version 4 webhook nor a Grafana webhook"
    )
    assert "version" in [d["field"] for d in error["details"]]

    no_org = documented()
    del no_org["orgId"]
    no_org["alerts"][1]["values"] = {"B": "44.2"}  # a string is not a query result
    answer = await post(client, no_org)
    assert answer.status == 422
    error = await answer.json()
    assert error["message"].startswith("the body is not a Grafana webhook (version 1): ")
    assert {"orgId", "alerts.1.values.B"} <= {d["field"] for d in error["details"]}
    assert (await (await client.get("/api/v1/incidents")).json())["total"] == 0


async def test_hostile_grafana_fields_get_a_prompt_4xx(client: TestClient[Any, Any]) -> None:
    huge = documented()
    huge["alerts"][0].pop("values")
    huge["alerts"][0]["valueString"] = "[ var='a' labels={" * 400_000  # 7 MB, no closing
    started = asyncio.get_running_loop().time()
    answer = await post(client, huge)
    assert answer.status == 422
    assert asyncio.get_running_loop().time() - started < 10
    error = await answer.json()
    assert "RECEIVER_MAX_VALUE_LENGTH" in error["message"]

    overflowing = documented()
    overflowing["alerts"][0]["values"] = {"B": 10**400}  # no float holds it
    answer = await post(client, overflowing)
    assert answer.status == 422
    assert "alerts.0.values.B" in [d["field"] for d in (await answer.json())["details"]]
    assert (await (await client.get("/api/v1/incidents")).json())["total"] == 0


# -- the HMAC signature and the contact point's own authorization ------------------------


def signature(body: bytes, stamp: str | None = None) -> str:
    signed = body if stamp is None else stamp.encode() + b":" + body
    return hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()


async def test_a_bad_signature_gets_401_when_a_secret_is_configured(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    settings = make_settings(
        auth_token="s3cr3t-token", grafana_signature_secret=SECRET, reconcile_interval="0s"
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    # Grafana's "Authorization header" setting: scheme Bearer, the receiver's token
    auth = {"Authorization": "Bearer s3cr3t-token"}
    body = json.dumps(documented()).encode()

    for headers in (
        {},
        {"X-Grafana-Alerting-Signature": "0" * 64},
        {"X-Grafana-Alerting-Signature": signature(body + b" ")},
        {"X-Grafana-Alerting-Signature": "ü" * 64},
    ):
        answer = await client.post("/api/v1/alerts", data=body, headers={**JSON, **auth, **headers})
        assert answer.status == 401, headers
        assert (await answer.json())["error"] == "invalid_signature"
    listing = await (await client.get("/api/v1/incidents", headers=auth)).json()
    assert listing["total"] == 0

    # the signature does not stand in for the API's credentials
    signed = {"X-Grafana-Alerting-Signature": signature(body)}
    answer = await client.post("/api/v1/alerts", data=body, headers={**JSON, **signed})
    assert answer.status == 401
    assert (await answer.json())["error"] == "unauthenticated"

    answer = await client.post("/api/v1/alerts", data=body, headers={**JSON, **auth, **signed})
    assert answer.status == 202, await answer.text()
    assert (await applied(client, await answer.json(), headers=auth))["created"] is True
    # Alertmanager cannot sign: its bodies need only the credentials
    answer = await client.post(
        "/api/v1/alerts", data=capture_text("firing_group_3"), headers={**JSON, **auth}
    )
    assert answer.status == 202
    assert (await applied(client, await answer.json(), headers=auth))["created"] is True


async def test_a_signed_timestamp_must_be_recent_and_part_of_the_signature(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    settings = make_settings(
        grafana_signature_secret=SECRET,
        grafana_signature_header="X-Signature",
        grafana_timestamp_header="X-Signature-Timestamp",
        reconcile_interval="0s",
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    body = json.dumps(documented()).encode()
    now = str(int(clock.now.timestamp()))
    stale = str(int(clock.now.timestamp()) - 600)

    for headers in (
        {"X-Signature": signature(body)},  # signed without the time
        {"X-Signature": signature(body, now)},  # the time not sent
        {"X-Signature": signature(body, stale), "X-Signature-Timestamp": stale},
        {"X-Signature": signature(body, now), "X-Signature-Timestamp": "9" * 5000},
        {"X-Signature": signature(body, now), "X-Signature-Timestamp": str(int(now) + 1)},
    ):
        answer = await client.post("/api/v1/alerts", data=body, headers={**JSON, **headers})
        assert answer.status == 401, headers
        assert (await answer.json())["error"] == "invalid_signature"

    good = {"X-Signature": signature(body, now), "X-Signature-Timestamp": now}
    answer = await client.post("/api/v1/alerts", data=body, headers={**JSON, **good})
    assert answer.status == 202, await answer.text()
    assert (await applied(client, await answer.json()))["created"] is True


# -- Grafana's Alertmanager API: acknowledgements and reconciliation ---------------------


async def grafana_rig(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings, clock: Clock
) -> tuple[FakeGrafana, TestClient[Any, Any], dict[str, Any]]:
    """A fake Grafana, and a receiver that heard its documented notification."""
    fake = FakeGrafana(token="glsa_service_account_token")
    server = await aiohttp_server(fake.app(), host="127.0.0.1")
    client = await aiohttp_client(create_app(settings, clock=clock))
    body = documented()
    body["externalURL"] = f"http://127.0.0.1:{server.port}/"
    assert (await posted(client, body))["code"] == 201
    return fake, client, body


def reconciler_of(
    client: TestClient[Any, Any],
    session: aiohttp.ClientSession,
    clock: Clock,
    *,
    grace: timedelta,
    token: str | None = None,
    grafana_token: str | None = None,
) -> Reconciler:
    return Reconciler(
        client.app[SERVICE],
        AlertmanagerClient(session, token, grafana_token=grafana_token),
        client.app[METRICS],
        alertmanager_url=None,  # each incident's: Grafana's Alertmanager, from externalURL
        restart_grace=grace,
        inbox_retention=timedelta(0),
        clock=clock,
    )


async def test_silences_in_grafana_acknowledge_and_alerts_gone_from_it_resolve(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    make_settings: Callable[..., Settings],
    clock: Clock,
    http: aiohttp.ClientSession,
) -> None:
    settings = make_settings(reconcile_interval="0s")
    fake, client, body = await grafana_rig(aiohttp_server, aiohttp_client, settings, clock)
    memory, cpu = body["alerts"]
    fake.alerts = [gettable_alert(memory), gettable_alert(cpu)]
    clock.advance(minutes=3)
    fake.silences = [
        gettable_silence(
            "7d8a2c4e-0b6f-4e57-9d1e-3f2a0c5b8e91",
            memory["labels"],
            clock.now.isoformat(),
            "zhangsan",
            "正在排查内存",
        )
    ]
    reconciler = reconciler_of(
        client, http, clock, grace=timedelta(0), token="am-token", grafana_token=fake.token
    )
    await reconciler.run_once()
    found = await detail(client)
    acks = [row for row in found["timeline"] if row["kind"] == "ack"]
    assert [(row["actor"], row["note"]) for row in acks] == [("zhangsan", "正在排查内存")]
    assert found["status"] == "firing"
    # Grafana's token went to Grafana, never the Alertmanager one
    assert set(fake.authorizations) == {f"Bearer {fake.token}"}

    # the CPU alert resolves silently (it was silenced): Grafana no longer holds it
    fake.alerts = [gettable_alert(memory)]
    clock.advance(minutes=1)
    await reconciler.run_once()
    found = await detail(client)
    assert {a["fingerprint"]: a["status"] for a in found["alerts"]} == {
        "c6eadffa33fcdf37": "firing",
        "bc97ff14869b13e3": "resolved",
    }
    assert [row["kind"] for row in found["timeline"]].count("alert_gone") == 1

    fake.alerts = []
    clock.advance(minutes=1)
    await reconciler.run_once()
    found = await detail(client)
    assert found["status"] == "drafted"
    draft = await (await client.get("/api/v1/incidents/1/postmortem.md")).text()
    assert "由 Grafana 静默推断，静默备注：正在排查内存" in draft
    assert "1 条告警已不在 Grafana 中，未收到恢复通知（对账发现）" in draft


async def test_a_grafana_restart_between_two_passes_resolves_nothing(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    make_settings: Callable[..., Settings],
    clock: Clock,
    http: aiohttp.ClientSession,
) -> None:
    settings = make_settings(reconcile_interval="0s")
    fake, client, body = await grafana_rig(aiohttp_server, aiohttp_client, settings, clock)
    held = [gettable_alert(alert) for alert in body["alerts"]]
    fake.alerts = held
    reconciler = reconciler_of(client, http, clock, grace=timedelta(minutes=5), token=fake.token)
    for _ in range(6):  # a pass a minute: Grafana has answered for the grace
        await reconciler.run_once()
        clock.advance(minutes=1)
    # Grafana restarted: its Alertmanager holds nothing until the rules run again
    fake.alerts = []
    await reconciler.run_once()
    found = await detail(client)
    assert [a["status"] for a in found["alerts"]] == ["firing", "firing"]
    assert "alert_gone" not in [row["kind"] for row in found["timeline"]]
    # the rules ran again: both alerts are back, and nothing was resolved meanwhile
    clock.advance(minutes=1)
    fake.alerts = held
    await reconciler.run_once()
    assert [a["status"] for a in (await detail(client))["alerts"]] == ["firing", "firing"]


def test_an_alertmanager_without_uptime_is_believed_over_the_grace() -> None:
    window = AnswerWindow(timedelta(minutes=5))
    start = datetime.fromisoformat("2026-11-26T19:00:00+00:00")
    minute = timedelta(minutes=1)
    assert window.answered("g", start, {"a", "b"}) is None  # just met: not yet
    for n in range(1, 5):
        assert window.answered("g", start + n * minute, {"a", "b"}) is None
    seen = window.answered("g", start + 5 * minute, {"a"})
    assert seen is not None
    assert seen.fingerprints == {"a", "b"}  # b was held within the grace
    seen = window.answered("g", start + 11 * minute, {"a"})
    assert seen is not None
    assert seen.fingerprints == {"a"}
    assert seen.since == start + 11 * minute  # the only answer in the grace
    window.failed("g")  # unreachable: it may be restarting
    assert window.answered("g", start + 12 * minute, {"a"}) is None
    assert AnswerWindow(timedelta(0)).answered("g", start, set()) is not None


# -- the inbox: a Grafana body replays like any other ---------------------------------


async def test_grafana_bodies_replay_into_a_fresh_database(
    client: TestClient[Any, Any], clock: Clock, tmp_path: Path
) -> None:
    firing = linked(documented())
    assert (await posted(client, firing))["code"] == 201
    clock.advance(minutes=20)
    assert (await posted(client, resolved(firing)))["code"] == 200
    original = await detail(client)

    fresh = load_settings(
        database_url=f"sqlite:///{tmp_path / 'fresh.db'}", drafts_dir="", log_format="json"
    )
    database = open_configured_database(fresh)
    await database.migrate()
    replay_clock = ReplayClock()
    target = IncidentService(database, fresh, DraftRenderer(), clock=replay_clock)
    try:
        report = await replay_inbox(client.app[SERVICE], target, replay_clock)
        assert (report.applied, report.failed) == (2, 0)
        replayed = await target.queries.incident_detail(1)
    finally:
        await database.close()
    assert [(e.kind.value, e.detail) for e in replayed.timeline] == [
        (row["kind"], row["detail"]) for row in original["timeline"]
    ]
    assert replayed.episodes[0].annotations[PANEL_URL] == PANEL
