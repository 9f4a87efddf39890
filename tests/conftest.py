"""Shared helpers: the real Alertmanager captures, settings on a real SQLite file, a clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from receiver.alertmanager import Webhook
from receiver.config import Settings, load_settings

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent


def capture(name: str) -> dict[str, Any]:
    """A webhook body exactly as Alertmanager 0.25 posted it."""
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def capture_text(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text(encoding="utf-8")


def hook(name: str) -> Webhook:
    return Webhook.parse(capture(name))


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


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 26, 19, 12, 0, tzinfo=UTC))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / 'receiver.db'}",
            "drafts_dir": tmp_path / "drafts",
            "log_format": "json",
        }
        values.update(overrides)
        return load_settings(**values)

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()
