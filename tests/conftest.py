"""Shared helpers: the real Alertmanager captures, settings on a real SQLite file, a clock.

The suite is in layers: tests/unit (no I/O), tests/service (use cases and the store),
tests/http (the app in-process) and tests/system (real processes). The quick loop,
`pytest -m "not slow"`, leaves out what is marked slow below.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy.engine import make_url

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings, load_settings

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
# The PostgreSQL the development and CI machines run; each test gets its own database.
POSTGRES_URL = os.environ.get(
    "RECEIVER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")
# real processes (Alertmanager, Prometheus, `serve`, a browser, containers): slow by place
SYSTEM = Path(__file__).parent / "system"


def capture(name: str) -> dict[str, Any]:
    """A webhook body exactly as Alertmanager 0.25 posted it."""
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def capture_text(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text(encoding="utf-8")


def hook(name: str) -> Webhook:
    return Webhook.parse(capture(name))


def as_group(body: dict[str, Any], tag: str | int) -> dict[str, Any]:
    """The capture as another alert group would have sent it. Only identifiers change —
    the service in groupKey, groupLabels, commonLabels and each alert's labels, and the
    last four hex digits of each fingerprint — so each tag opens its own incident."""
    out: dict[str, Any] = json.loads(json.dumps(body))
    service = out["groupLabels"]["service"]
    renamed = f"{service}-{tag}"
    suffix = f"{tag:04x}" if isinstance(tag, int) else hashlib.sha256(tag.encode()).hexdigest()[:4]
    assert f'service="{service}"}}' in out["groupKey"]
    out["groupKey"] = out["groupKey"].replace(f'service="{service}"}}', f'service="{renamed}"}}')
    out["groupLabels"]["service"] = renamed
    out["commonLabels"]["service"] = renamed
    for alert in out["alerts"]:
        alert["labels"]["service"] = renamed
        alert["fingerprint"] = alert["fingerprint"][:-4] + suffix
    return out


def shifted(body: dict[str, Any], delta: timedelta) -> dict[str, Any]:
    """The same capture with every alert's startsAt moved: a later firing of the series."""
    moved: dict[str, Any] = json.loads(json.dumps(body))
    for alert in moved["alerts"]:
        starts = datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00"))
        alert["startsAt"] = (starts + delta).isoformat().replace("+00:00", "Z")
        if not alert["endsAt"].startswith("0001"):
            ends = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00"))
            alert["endsAt"] = (ends + delta).isoformat().replace("+00:00", "Z")
    return moved


class Clock:
    """A settable clock for the service: tests decide what 'now' is."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow by where a test lives, not by hand: every system test, and the PostgreSQL
    twin of each storage test (a fresh database costs about 2 s; its SQLite twin runs in
    the quick loop, both run in the full suite)."""
    for item in items:
        if SYSTEM in item.path.parents:
            item.add_marker(pytest.mark.slow)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url") == "postgresql":
            item.add_marker(pytest.mark.postgresql)
            item.add_marker(pytest.mark.slow)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client for real processes on loopback."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 26, 19, 12, 0, tzinfo=UTC))


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards.

    An unreachable server is an error, not a skip: CI must test both backends.
    """
    name = f"pmr_test_{uuid.uuid4().hex[:16]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test that stores anything runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'receiver.db'}"
    else:
        yield from fresh_postgres_database()


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "drafts_dir": tmp_path / "drafts",
            "log_format": "json",
        }
        values.update(overrides)
        return load_settings(**values)

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()
