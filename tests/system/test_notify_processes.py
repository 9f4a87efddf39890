"""Chat messages from real processes: captures through `serve` to a card, and `notify test`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from receiver.notify.platforms import ChannelKind
from tests.conftest import capture_text
from tests.inbox import applied
from tests.notify_fakes import FakePlatform
from tests.processes import AUTH, poll, start_receiver
from tests.service.test_notify_outbox import PUBLIC_URL, SECRET, card_text


@pytest.fixture
async def feishu() -> AsyncIterator[FakePlatform]:
    async with FakePlatform(ChannelKind.FEISHU, secret=SECRET) as fake:
        yield fake


async def run_cli(config: Path, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECEIVER_")}
    env["RECEIVER_LANGUAGE"] = "en"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "receiver",
        "--config",
        str(config),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_end_to_end_captures_to_a_feishu_card_with_the_review_link(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, feishu: FakePlatform
) -> None:
    notify = {
        "channels": [
            {
                "name": "sre-feishu",
                "type": "feishu",
                "url_env": "FEISHU_URL",
                "secret_env": "FEISHU_SECRET",
            }
        ],
        "routes": [{"matchers": ['service="checkout"'], "channels": ["sre-feishu"]}],
    }
    receiver, _ = start_receiver(
        request,
        tmp_path,
        database_url=database_url,
        extra_env={
            "RECEIVER_NOTIFY": json.dumps(notify),
            "RECEIVER_PUBLIC_URL": PUBLIC_URL,
            "FEISHU_URL": feishu.url,
            "FEISHU_SECRET": SECRET,
        },
    )
    async with aiohttp.ClientSession(headers={**AUTH, "Content-Type": "application/json"}) as http:
        answers = []
        for name in ("firing_single", "resolved_single"):
            url = f"{receiver.base_url}/api/v1/alerts"
            async with http.post(url, data=capture_text(name)) as response:
                assert response.status == 202, await response.text()
                accepted = await response.json()
            answers.append(await applied(http, accepted, base=receiver.base_url))

    async def drafted_card() -> dict[str, Any] | None:
        for message in feishu.received:
            if "复盘草稿已生成" in card_text(message.json):
                return message.json
        return None

    card = await poll("the draft-written card", drafted_card, 15)
    link = f"{PUBLIC_URL}/incidents/{answers[0]['incident_id']}"
    assert link in card_text(card)
    assert feishu.refused == []
    log = receiver.log_path.read_text(encoding="utf-8")
    assert '"event": "notify.sent"' in log or '"notify.sent"' in log
    for secret in (feishu.token, SECRET):
        assert secret not in log


async def test_notify_test_sends_a_sample_and_reports_the_answer(
    tmp_path: Path, feishu: FakePlatform
) -> None:
    config = tmp_path / "receiver.toml"
    config.write_text(
        f"""
language = "en"
public_url = "{PUBLIC_URL}"
[[notify.channels]]
name = "good"
type = "feishu"
url = "{feishu.url}"
secret = "{SECRET}"
[[notify.channels]]
name = "wrong-secret"
type = "feishu"
url = "{feishu.url}"
secret = "not-the-secret"
""",
        encoding="utf-8",
    )
    status, out = await run_cli(config, "notify", "test", "good")
    assert status == 0, out
    assert out.startswith("good (feishu): ok")
    [message] = feishu.received
    assert "[Test message]" in card_text(message.json)

    status, out = await run_cli(config, "notify", "test", "wrong-secret")
    assert status == 1, out
    assert "FAILED" in out
    assert "19021" in out  # Feishu's own answer: the signature did not match
    assert "not-the-secret" not in out
    assert feishu.token not in out

    status, out = await run_cli(config, "notify", "test", "nope")
    assert status == 2
    assert "no channel 'nope' (configured: good, wrong-secret)" in out
