"""Recurrence (issue 21), on SQLite and PostgreSQL: a re-fire of the same group after the
reopen window opens a new incident that links the old one; its opened message and its
draft name the old incident's open items; another service's incident links nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from receiver.metrics import Metrics
from receiver.notify.platforms import ChannelKind
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.usecases.service import IncidentService
from receiver.workers.outbox import Sender
from tests.conftest import Clock, as_group, capture, shifted
from tests.notify_fakes import FakePlatform


@pytest.fixture
async def chat() -> AsyncIterator[FakePlatform]:
    async with FakePlatform(ChannelKind.WEBHOOK) as fake:
        yield fake


class Replica:
    def __init__(self, service: IncidentService, sender: Sender) -> None:
        self.service, self.sender = service, sender


@pytest.fixture
async def replica(
    make_settings: Callable[..., Settings], clock: Clock, chat: FakePlatform
) -> AsyncIterator[Replica]:
    settings = make_settings(
        public_url="https://pm.example.com",
        notify={
            "channels": [{"name": "sre", "type": "webhook", "url": chat.url}],
            "default_channels": ["sre"],
        },
    )
    database = open_configured_database(settings)
    await database.migrate()
    async with aiohttp.ClientSession() as http:
        service = IncidentService(database, settings, DraftRenderer(), clock=clock)
        yield Replica(service, Sender(database, settings.notify, Metrics(), http, clock=clock))
    await database.close()


async def deliver(service: IncidentService, body: dict[str, Any]) -> int:
    result = await service.ingest_webhook(Webhook.parse(body), json.dumps(body))
    return result.incident_id


async def opened_notes(replica: Replica, chat: FakePlatform, incident_id: int) -> list[str]:
    await replica.sender.run_once()
    found = [
        r.json["incident"]
        for r in chat.received
        if r.json["event"] == "opened" and r.json["incident"]["incident_id"] == incident_id
    ]
    assert len(found) == 1
    return list(found[0]["notes"])


async def test_a_refire_links_the_old_incident_and_names_its_open_items(
    replica: Replica, chat: FakePlatform, clock: Clock
) -> None:
    service = replica.service
    old = await deliver(service, capture("firing_single"))
    clock.advance(seconds=5)
    await deliver(service, capture("resolved_single"))
    await service.review.update_human_fields(
        old,
        {
            "actions": [
                {"text": "扩大连接池", "owner": "lisi", "due": "2026-11-25"},
                {"text": "补充压测", "owner": "wangwu", "done": True},
            ]
        },
        "zhangsan",
    )
    assert await opened_notes(replica, chat, old) == []  # nothing before it

    # the same group fires again two hours later: past the 30-minute reopen window
    clock.advance(hours=2)
    new = await deliver(service, shifted(capture("firing_single"), timedelta(hours=2)))
    assert new != old
    assert await opened_notes(replica, chat, new) == [
        f"同类事故：#{old}（11-26，草稿已生成），其行动计划 1 项未完成"
    ]
    clock.advance(seconds=5)
    await deliver(service, shifted(capture("resolved_single"), timedelta(hours=2)))
    draft = (await service.queries.current_draft(new)).markdown
    block = draft.split("### 历史同类事故")[1].split("###")[0]
    assert f"**#{old}**" in block
    assert "匹配依据：同一告警组" in block
    assert "其行动计划 1 项未完成" in block
    # the old one ended (endsAt) and this one began (startsAt) two hours later
    assert "**平均故障间隔（MTBF）**: 1 小时 59 分 56 秒（系统计算" in block
    assert "上次的改进措施尚未完成，可能与本次相关（待确认）" in block
    assert "扩大连接池" in block
    assert "已逾期" in block
    assert "补充压测" not in block  # done: not an open item
    # the old incident's draft links nothing later than itself
    assert "历史同类事故" not in (await service.queries.current_draft(old)).markdown

    # another service's incident links nothing
    clock.advance(hours=1)
    other = await deliver(
        service, as_group(shifted(capture("firing_single"), timedelta(hours=3)), 7)
    )
    assert await opened_notes(replica, chat, other) == []
    page = await service.queries.incident_page(other)
    assert page.similar.linked == ()
    linked = (await service.queries.incident_page(new)).similar
    assert [(m.past.id, m.reason.value) for m in linked.linked] == [(old, "same_key")]
    assert [i.text for i in linked.open_items] == ["扩大连接池"]
