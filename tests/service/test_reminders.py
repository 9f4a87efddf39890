"""Action item reminders (issue 21), on SQLite and PostgreSQL, to a fake chat endpoint:
one reminder per item per day as the clock moves, @mentions from the config, the weekly
digest once a week per channel, and two replicas queueing and sending each once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.alertmanager.webhook import Webhook
from receiver.app import create_app
from receiver.config import Settings
from receiver.domain.action_items import ItemStatus
from receiver.metrics import Metrics
from receiver.notify.platforms import ChannelKind
from receiver.postmortem.render import DraftRenderer
from receiver.store import Database, open_configured_database
from receiver.store.action_items import ItemFilter
from receiver.usecases.service import IncidentService
from receiver.web.keys import SERVICE
from receiver.workers.outbox import Sender
from tests.conftest import Clock, capture
from tests.notify_fakes import FakePlatform

# the clock starts on Thursday 2026-11-26, 19:12 UTC
TOMORROW, OVERDUE = "2026-11-27", "2026-11-25"


@pytest.fixture
async def chat() -> AsyncIterator[FakePlatform]:
    async with FakePlatform(ChannelKind.WEBHOOK) as fake:
        yield fake


class Replicas:
    """Services and senders of as many replicas as a test asks for, one database."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock
        self.databases: list[Database] = []
        self.http = aiohttp.ClientSession()

    async def replica(self) -> tuple[IncidentService, Sender]:
        database = open_configured_database(self.settings)
        await database.migrate()
        self.databases.append(database)
        service = IncidentService(database, self.settings, DraftRenderer(), clock=self.clock)
        sender = Sender(database, self.settings.notify, Metrics(), self.http, clock=self.clock)
        return service, sender

    async def close(self) -> None:
        await self.http.close()
        for database in self.databases:
            await database.close()


@pytest.fixture
async def replicas_for(
    make_settings: Callable[..., Settings], clock: Clock, chat: FakePlatform
) -> AsyncIterator[Callable[..., Replicas]]:
    made: list[Replicas] = []

    def build(**overrides: Any) -> Replicas:
        notify = {
            "channels": [{"name": "sre", "type": "webhook", "url": chat.url}],
            "default_channels": ["sre"],
            "mentions": {"lisi": "U_LISI", "wangwu": {"slack": "U_WANGWU"}},
        }
        values: dict[str, Any] = {"action_reminder_days": 1, "action_digest_weekday": 0}
        settings = make_settings(
            public_url="https://pm.example.com", notify=notify, **(values | overrides)
        )
        made.append(Replicas(settings, clock))
        return made[-1]

    yield build
    for replicas in made:
        await replicas.close()


async def incident_with_two_items(service: IncidentService, clock: Clock) -> int:
    body = capture("firing_single")
    result = await service.ingest_webhook(Webhook.parse(body), json.dumps(body))
    await service.review.update_human_fields(
        result.incident_id,
        {
            "actions": [
                {"text": "扩大连接池", "owner": "lisi", "due": TOMORROW},
                {"text": "补充压测", "owner": "wangwu", "due": OVERDUE},
                {"text": "以后再说", "owner": "zhaoliu", "due": "2026-12-30"},
            ]
        },
        "zhangsan",
    )
    return result.incident_id


def reminders(chat: FakePlatform) -> list[dict[str, Any]]:
    return [r.json["incident"] for r in chat.received if r.json["event"] == "action_reminder"]


async def test_one_reminder_per_item_per_day_as_the_clock_moves(
    replicas_for: Callable[..., Replicas], chat: FakePlatform, clock: Clock
) -> None:
    service, sender = await replicas_for().replica()
    await incident_with_two_items(service, clock)
    assert await service.reminders.run() == 2
    assert await service.reminders.run() == 0  # the same day: nothing again
    await sender.run_once()
    sent = reminders(chat)
    assert sorted((m["headline"], m["notes"][0]) for m in sent) == [
        ("行动项将在 1 天内到期", "扩大连接池（负责人：lisi，截止：2026-11-27，来自事故 #1）"),
        ("行动项已逾期", "补充压测（负责人：wangwu，截止：2026-11-25，已逾期，来自事故 #1）"),
    ]
    by_text = {m["notes"][0].split("（")[0]: m for m in sent}
    assert by_text["扩大连接池"]["mentions"] == ["U_LISI"]
    assert by_text["补充压测"]["mentions"] == []  # mapped for Slack only
    assert by_text["扩大连接池"]["link"].startswith("https://pm.example.com/actions#item-")

    clock.advance(hours=6)  # 01:12 on the 27th: a new day
    assert await service.reminders.run() == 2
    assert await service.reminders.run() == 0
    await sender.run_once()
    assert len(reminders(chat)) == 4
    assert "行动项今天到期" in {m["headline"] for m in reminders(chat)}

    # done is done: the next day only the other one
    lisi = (await service.actions.find(ItemFilter(owner="lisi")))[0]
    await service.actions.set_status(lisi.item.id, ItemStatus.DONE, "", "lisi")
    clock.advance(days=1)
    assert await service.reminders.run() == 1
    await sender.run_once()
    assert [m["notes"][0].split("（")[0] for m in reminders(chat)[4:]] == ["补充压测"]


async def test_two_replicas_queue_and_send_each_reminder_once(
    replicas_for: Callable[..., Replicas], chat: FakePlatform, clock: Clock
) -> None:
    replicas = replicas_for()
    (first, first_sender), (second, second_sender) = (
        await replicas.replica(),
        await replicas.replica(),
    )
    await incident_with_two_items(first, clock)
    queued = await asyncio.gather(first.reminders.run(), second.reminders.run())
    assert sorted(queued) == [0, 2]
    await asyncio.gather(first_sender.run_once(), second_sender.run_once())
    await asyncio.gather(first_sender.run_once(), second_sender.run_once())
    assert len(reminders(chat)) == 2
    assert chat.refused == []


async def test_the_weekly_digest_goes_once_a_week_per_channel(
    replicas_for: Callable[..., Replicas], chat: FakePlatform, clock: Clock
) -> None:
    service, sender = await replicas_for(action_digest_weekday=4).replica()  # Thursday
    await incident_with_two_items(service, clock)
    assert await service.reminders.run() == 3  # two reminders and the digest
    await sender.run_once()
    [digest] = [r.json["incident"] for r in chat.received if r.json["event"] == "action_digest"]
    assert digest["title"] == "本周行动项：3 项未完成，其中 1 项已逾期"
    assert len(digest["notes"]) == 3
    clock.advance(days=2)  # Saturday: the same week
    await service.reminders.run()
    await sender.run_once()
    assert sum(r.json["event"] == "action_digest" for r in chat.received) == 1
    clock.advance(days=5)  # the next Thursday
    await service.reminders.run()
    await sender.run_once()
    assert sum(r.json["event"] == "action_digest" for r in chat.received) == 2


async def test_the_app_runs_the_reminder_pass(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[Any, Any]]],
    make_settings: Callable[..., Settings],
    clock: Clock,
    chat: FakePlatform,
) -> None:
    settings = make_settings(
        notify={"channels": [{"name": "sre", "type": "webhook", "url": chat.url}],
                "default_channels": ["sre"]},
        action_reminder_interval="1s",
        action_digest_weekday=0,
    )  # fmt: skip
    client = await aiohttp_client(create_app(settings, clock=clock))
    service = client.app[SERVICE]
    await incident_with_two_items(service, clock)
    async with asyncio.timeout(15):  # the pass runs every second
        await chat.wait_until(lambda: len(reminders(chat)) >= 2)
    headlines = {m["headline"] for m in reminders(chat)}
    assert headlines == {"行动项已逾期", "行动项将在 1 天内到期"}
