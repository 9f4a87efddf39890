"""The service on a fresh database of each backend, for the tests that drive its use
cases directly."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from receiver.config import Settings
from receiver.postmortem.render import DraftRenderer
from receiver.replay import ReplayClock
from receiver.store import open_configured_database
from receiver.usecases.service import IncidentService
from tests.conftest import Clock


@contextlib.asynccontextmanager
async def service_on(settings: Settings, clock: Clock) -> AsyncIterator[IncidentService]:
    """The service on the settings' database, migrated; closed afterwards."""
    database = open_configured_database(settings)
    await database.migrate()
    try:
        yield IncidentService(database, settings, DraftRenderer(), clock=clock)
    finally:
        await database.close()


@contextlib.asynccontextmanager
async def replay_target(settings: Settings) -> AsyncIterator[tuple[IncidentService, ReplayClock]]:
    """A service on the settings' database, migrated, whose clock a replay sets; closed
    afterwards."""
    database = open_configured_database(settings)
    await database.migrate()
    clock = ReplayClock()
    try:
        yield IncidentService(database, settings, DraftRenderer(), clock=clock), clock
    finally:
        await database.close()


@pytest.fixture
async def service(
    make_settings: Callable[..., Settings], clock: Clock
) -> AsyncIterator[IncidentService]:
    # a poison entry is quarantined soon
    async with service_on(make_settings(inbox_max_attempts=3), clock) as service:
        yield service
