"""The outbox and its sender, on SQLite and PostgreSQL, against local fakes of the platforms.

Messages are written with the change that causes them and sent after commit; retries on
5xx and on "200 with an error code"; the platform's rate is respected by queueing; unsent
messages survive a restart; two replicas send each message once; a replay sends nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from receiver.metrics import Metrics
from receiver.notify.platforms import ChannelKind
from receiver.postmortem.render import DraftRenderer
from receiver.store import Database, open_configured_database
from receiver.store.schema import outbox
from receiver.usecases.service import IncidentService
from receiver.workers.outbox import Sender
from tests.conftest import Clock, as_group, capture, capture_text
from tests.notify_fakes import FakePlatform

PUBLIC_URL = "https://pm.example.com"
SECRET = "SEC-feishu-signing-secret"
# the platforms check signatures against their own clock: start the test clock at now
START = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def feishu() -> AsyncIterator[FakePlatform]:
    async with FakePlatform(ChannelKind.FEISHU, secret=SECRET) as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def notify_settings(fake: FakePlatform, **channel: Any) -> dict[str, Any]:
    return {
        "channels": [
            {"name": "sre", "type": "feishu", "url": fake.url, "secret": SECRET, **channel}
        ],
        "default_channels": ["sre"],
        "give_up_after": "10m",
    }


class Rig:
    """A service and the senders of as many replicas as a test asks for, one database."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.databases: list[Database] = []
        self.metrics = Metrics()
        self.http = aiohttp.ClientSession()

    async def database(self) -> Database:
        database = open_configured_database(self.settings)
        await database.migrate()
        self.databases.append(database)
        return database

    async def service(self) -> IncidentService:
        database = await self.database()
        return IncidentService(database, self.settings, DraftRenderer(), clock=self.clock)

    async def sender(self) -> Sender:
        database = await self.database()  # its own engine: another replica
        return Sender(database, self.settings.notify, self.metrics, self.http, clock=self.clock)

    async def close(self) -> None:
        await self.http.close()
        for database in self.databases:
            await database.close()


@pytest.fixture
async def rig_for(
    make_settings: Callable[..., Settings], clock: Clock
) -> AsyncIterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def build(**overrides: Any) -> Rig:
        rig = Rig(make_settings(public_url=PUBLIC_URL, **overrides), clock)
        rigs.append(rig)
        return rig

    yield build
    for rig in rigs:
        await rig.close()


async def deliver(service: IncidentService, name: str, clock: Clock, **tag: Any) -> int:
    body = capture(name) if not tag else as_group(capture(name), tag["group"])
    text = json.dumps(body)
    clock.now += timedelta(minutes=1)
    result = await service.ingest_webhook(Webhook.parse(body), text)
    return result.incident_id


async def rows(database: Database) -> list[dict[str, Any]]:
    async with database.read() as repo:
        found = await repo.conn.execute(sa.select(outbox).order_by(outbox.c.id))
        return [dict(row._mapping) for row in found]


def counted(metrics: Metrics, result: str, channel: str = "sre") -> float:
    value = metrics.registry.get_sample_value(
        "postmortem_receiver_notifications_total", {"channel": channel, "result": result}
    )
    return value or 0.0


def card_text(message: dict[str, Any]) -> str:
    return json.dumps(message["card"], ensure_ascii=False)


async def test_opened_and_draft_written_reach_feishu_as_signed_cards(
    rig_for: Callable[..., Rig], feishu: FakePlatform, clock: Clock
) -> None:
    rig = rig_for(notify=notify_settings(feishu))
    service, sender = await rig.service(), await rig.sender()
    incident_id = await deliver(service, "firing_single", clock)
    queued = await rows(service.db)
    assert [(r["event"], r["channel"], r["incident_id"]) for r in queued] == [
        ("opened", "sre", incident_id)
    ]
    assert feishu.received == []  # nothing is sent inside the webhook's transaction
    assert await sender.run_once() == 1
    await deliver(service, "resolved_single", clock)
    assert await sender.run_once() == 1

    assert feishu.refused == []
    opened, drafted = (r.json for r in feishu.received)
    assert opened["msg_type"] == drafted["msg_type"] == "interactive"
    assert "sign" in opened  # verified by the fake with Feishu's algorithm
    assert "事故已开启" in card_text(opened)
    text = card_text(drafted)
    assert "复盘草稿已生成" in text
    assert f"{PUBLIC_URL}/incidents/{incident_id}" in text
    assert "checkout" in text  # the service
    sent = await rows(service.db)
    assert all(r["sent_at"] is not None and r["pending"] is None for r in sent)
    assert counted(rig.metrics, "sent") == 2


async def test_5xx_and_200_with_an_error_code_are_retried_with_backoff(
    rig_for: Callable[..., Rig], feishu: FakePlatform, clock: Clock
) -> None:
    rig = rig_for(notify=notify_settings(feishu))
    service, sender = await rig.service(), await rig.sender()
    await deliver(service, "firing_single", clock)
    feishu.script("500", "error")

    assert await sender.run_once() == 0  # HTTP 500
    [row] = await rows(service.db)
    assert row["pending"]
    assert row["attempts"] == 1
    assert "500" in row["last_error"]
    assert await sender.run_once() == 0  # not due yet: backing off
    assert feishu.requests == 1

    clock.now += timedelta(seconds=3)
    assert await sender.run_once() == 0  # 200 with {"code": 19xxx}: a failure all the same
    [row] = await rows(service.db)
    assert row["attempts"] == 2
    assert row["last_error"]
    clock.now += timedelta(seconds=5)
    assert await sender.run_once() == 1
    assert len(feishu.received) == 1
    assert (counted(rig.metrics, "retry"), counted(rig.metrics, "sent")) == (2, 1)


async def test_gives_up_after_the_bounded_time_and_says_so_without_secrets(
    rig_for: Callable[..., Rig],
    feishu: FakePlatform,
    clock: Clock,
    capfd: pytest.CaptureFixture[str],
) -> None:
    rig = rig_for(notify=notify_settings(feishu))
    service, sender = await rig.service(), await rig.sender()
    await deliver(service, "firing_single", clock)
    await feishu.close()  # the platform is gone: connection refused
    for _ in range(12):
        await sender.run_once()
        clock.now += timedelta(minutes=1)
    [row] = await rows(service.db)
    assert row["failed_at"] is not None
    assert row["pending"] is None
    assert row["sent_at"] is None
    assert "network error" in row["last_error"]
    assert counted(rig.metrics, "failed") == 1
    assert counted(rig.metrics, "retry") >= 3
    logged = capfd.readouterr()
    for secret in (feishu.token, SECRET):
        assert secret not in row["last_error"]
        assert secret not in logged.out + logged.err


async def test_a_platform_rate_is_kept_by_queueing_not_dropping(
    rig_for: Callable[..., Rig], feishu: FakePlatform, clock: Clock
) -> None:
    rig = rig_for(notify=notify_settings(feishu, rate_per_minute=2))
    service, sender = await rig.service(), await rig.sender()
    for group in range(5):
        await deliver(service, "firing_single", clock, group=group)
    assert len(await rows(service.db)) == 5

    assert await sender.run_once() == 2
    assert await sender.run_once() == 0  # the minute is used up
    clock.now += timedelta(seconds=61)
    assert await sender.run_once() == 2
    clock.now += timedelta(seconds=61)
    assert await sender.run_once() == 1
    titles = [card_text(r.json) for r in feishu.received]
    assert len(titles) == 5
    # in the order they were queued
    for group, title in enumerate(titles):
        assert f"checkout-{group}" in title
    assert counted(rig.metrics, "failed") == 0


async def test_unsent_messages_survive_a_restart(
    rig_for: Callable[..., Rig], feishu: FakePlatform, clock: Clock
) -> None:
    rig = rig_for(notify=notify_settings(feishu))
    service = await rig.service()
    await deliver(service, "firing_single", clock)
    await deliver(service, "resolved_single", clock)
    for database in rig.databases:  # the process stops before sending anything
        await database.close()
    rig.databases.clear()

    sender = await rig.sender()  # the next process, on the same database
    assert await sender.run_once() == 2
    assert [r.json["msg_type"] for r in feishu.received] == ["interactive", "interactive"]


async def test_two_replicas_send_each_message_once(
    rig_for: Callable[..., Rig], feishu: FakePlatform, clock: Clock
) -> None:
    rig = rig_for(notify=notify_settings(feishu))
    service = await rig.service()
    for group in range(8):
        await deliver(service, "firing_single", clock, group=group)
    replicas = [await rig.sender() for _ in range(2)]
    assert replicas[0].owner != replicas[1].owner
    sent = await asyncio.gather(*(replica.run_once() for replica in replicas))
    assert sum(sent) == 8
    titles = sorted(card_text(r.json) for r in feishu.received)
    assert len(titles) == len(set(titles)) == 8
    assert all(r["sent_at"] is not None for r in await rows(service.db))


async def test_replaying_the_inbox_sends_nothing_again(
    rig_for: Callable[..., Rig], feishu: FakePlatform, clock: Clock
) -> None:
    rig = rig_for(notify=notify_settings(feishu))
    service = await rig.service()
    body = capture_text("firing_single")
    await service.ingest_webhook(Webhook.parse(json.loads(body)), body, keep_body=False)
    assert await rows(service.db) == []


async def test_no_channels_no_outbox(rig_for: Callable[..., Rig], clock: Clock) -> None:
    rig = rig_for()
    service = await rig.service()
    await deliver(service, "firing_single", clock)
    assert await rows(service.db) == []


# -- end to end: a real receiver process, real captures, the fake Feishu -------------------


# -- the opened message names the top suspect change (issue 20) --------------------------

SINGLE_FIRST_ALERT = datetime(2026, 11, 26, 19, 11, 48, 606000, tzinfo=UTC)  # firing_single


def deploy(service: str, minutes: float, version: str, actor: str | None) -> ServiceChange:
    return ServiceChange(
        source=ChangeSource.ARGOCD,
        source_id=f"{service}@{version}",
        type=ChangeType.DEPLOY,
        service=service,
        summary=f"{service} 同步成功",
        started_at=SINGLE_FIRST_ALERT - timedelta(minutes=minutes),
        namespace="prod",
        to_version=version,
        actor=actor,
    )


async def test_the_opened_message_names_the_top_suspect_change(
    rig_for: Callable[..., Rig], feishu: FakePlatform, clock: Clock
) -> None:
    rig = rig_for(notify=notify_settings(feishu))
    service, sender = await rig.service(), await rig.sender()
    await service.record_change(deploy("checkout", 15, "v2.32.0", "张三"))
    await service.record_change(deploy("search", 2, "v9.1.0", "李四"))  # another service
    await deliver(service, "firing_single", clock)
    [queued] = await rows(service.db)
    assert queued["message"]["suspect"] == "15 分钟前 checkout 发布 v2.32.0（张三）"
    assert await sender.run_once() == 1
    text = card_text(feishu.received[0].json)
    assert "疑似相关变更（待确认）" in text
    assert "15 分钟前 checkout 发布 v2.32.0（张三）" in text


async def test_no_change_before_the_alert_no_suspect_line(
    rig_for: Callable[..., Rig], feishu: FakePlatform, clock: Clock
) -> None:
    rig = rig_for(notify=notify_settings(feishu))
    service, sender = await rig.service(), await rig.sender()
    await service.record_change(deploy("checkout", 200, "v2.30.0", "张三"))  # outside 2 h
    await deliver(service, "firing_single", clock)
    [queued] = await rows(service.db)
    assert queued["message"]["suspect"] == ""
    assert await sender.run_once() == 1
    assert "疑似相关变更" not in card_text(feishu.received[0].json)
