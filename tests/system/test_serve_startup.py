"""`serve` as a process: the one line it says at start-up, and its warning."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from typing import Any

import pytest
from sqlalchemy import make_url

from receiver.cli.startup import open_api_warning
from receiver.config import Settings, load_settings
from tests.conftest import REPO


async def startup_lines(env: dict[str, str]) -> list[str]:
    """What serve writes to people (its JSON log lines aside) until it names its address."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "receiver",
        "serve",
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    said: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any("http://127.0.0.1:" in line for line in said):
                line = await process.stderr.readline()
                assert line, f"serve exited before it listened: {said!r}"
                if not line.startswith(b"{"):
                    said.append(line.decode().rstrip("\n"))
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)
    return said


def with_password(url: str) -> str:
    """The URL with a password in it (the test server trusts any)."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return url
    return parsed.set(password="hunter2").render_as_string(hide_password=False)


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_serve_prints_one_startup_line(settings: Settings, language: str) -> None:
    url = with_password(settings.database_url)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RECEIVER_")},
        "RECEIVER_DATABASE_URL": url,
        "RECEIVER_LISTEN": "127.0.0.1:0",
        "RECEIVER_TIMEZONE": "Asia/Shanghai",
        "RECEIVER_LOG_FORMAT": "json",
        "RECEIVER_DRAFTS_DIR": str(settings.drafts_dir),
        "RECEIVER_AUTH_TOKEN": "one,two",
        "RECEIVER_LANGUAGE": language,
    }
    [line] = await startup_lines(env)  # one line, and no warning: it listens on loopback
    port = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    assert port, line
    assert port.group(1) != "0", line  # the port it got, not the one asked for
    shown = make_url(url).render_as_string(hide_password=True)
    assert "hunter2" not in line
    if language == "en":
        assert line.startswith(f"postmortem-receiver: listening on http://127.0.0.1:{port[1]}; ")
        assert f"; database {shown}; drafts in {settings.drafts_dir}; " in line
        # a wrong zone silently shifts every time in every draft
        assert (
            "times in drafts are in Asia/Shanghai (UTC+08:00 now; set with RECEIVER_TIMEZONE)"
            in (line)
        )
        assert line.endswith("; language en; /api auth: bearer token (2)")
    else:
        assert line.startswith(f"postmortem-receiver 已启动：监听 http://127.0.0.1:{port[1]}；")
        assert f"；数据库 {shown}；草稿目录 {settings.drafts_dir}；" in line
        assert "草稿中的时间为 Asia/Shanghai（当前 UTC+08:00，用 RECEIVER_TIMEZONE 设置）" in line
        assert line.endswith("；语言 zh；/api 认证：Bearer 令牌（2 个）")


@pytest.mark.parametrize(
    ("listen", "credentials", "warned"),
    [
        ("0.0.0.0:8080", {}, True),
        ("[::]:8080", {}, True),
        ("192.0.2.10:8080", {}, True),
        ("receiver.example:8080", {}, True),
        ("0.0.0.0:8080", {"auth_token": "t"}, False),
        ("0.0.0.0:8080", {"basic_auth_user": "u", "basic_auth_password": "p"}, False),
        ("127.0.0.1:8080", {}, False),
        ("[::1]:8080", {}, False),
        ("localhost:8080", {}, False),
    ],
)
def test_open_api_beyond_loopback_is_warned_of(
    listen: str, credentials: dict[str, Any], warned: bool
) -> None:
    """Decided from the settings alone: the tests listen on loopback only."""
    warning = open_api_warning(load_settings(listen=listen, language="zh", **credentials))
    assert (warning is not None) == warned, warning
    if warning:
        assert warning.startswith("警告：/api 没有设置凭据，而监听地址 ")
        assert "设置 RECEIVER_AUTH_TOKEN" in warning
