"""Fixtures the end-to-end tests share: a receiver on a SQLite file and the real
Alertmanager sending to it. A module that needs another kind defines its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.processes import Service, alertmanager_binary, start_alertmanager, start_receiver


@pytest.fixture
def receiver(request: pytest.FixtureRequest, tmp_path: Path) -> Service:
    alertmanager_binary()  # skip before starting anything when Alertmanager is missing
    service, _ = start_receiver(
        request, tmp_path, database_url=f"sqlite:///{tmp_path / 'receiver.db'}"
    )
    return service


@pytest.fixture
def alertmanager(request: pytest.FixtureRequest, tmp_path: Path, receiver: Service) -> Service:
    return start_alertmanager(request, tmp_path, receiver.base_url)
