"""What the review tests share: the API token, and an app on the test clock that
answers with it (reconciliation off, so nothing happens behind a test's back)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from tests.conftest import Clock

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]

TOKEN = "review-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: Clock
) -> TestClient[Any, Any]:
    app = create_app(make_settings(auth_token=TOKEN, reconcile_interval=0), clock=clock)
    return await aiohttp_client(app)
