"""`serve` as a process: what it says at start-up."""

from __future__ import annotations

import asyncio
import os
import sys

from receiver.config import Settings
from tests.conftest import REPO


async def test_serve_prints_the_time_zone_it_uses(settings: Settings) -> None:
    env = {
        **os.environ,
        "RECEIVER_DATABASE_URL": settings.database_url,
        "RECEIVER_LISTEN": "127.0.0.1:0",
        "RECEIVER_TIMEZONE": "Asia/Shanghai",
        "RECEIVER_LOG_FORMAT": "json",
    }
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
    seen: list[bytes] = []
    try:
        async with asyncio.timeout(60):
            while b"Asia/Shanghai" not in b"".join(seen):
                line = await process.stderr.readline()
                assert line, f"serve exited before naming its zone: {b''.join(seen)!r}"
                seen.append(line)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)
    assert b"times in drafts are in Asia/Shanghai (UTC+08:00 now; set with RECEIVER_TIMEZONE)" in (
        b"".join(seen)
    )
