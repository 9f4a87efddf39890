"""Shared by the hostile-input tests: incidents stored before the receiver checked the span
of times, a `serve` process seeded with them, and raw HTTP to it."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings, load_settings
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_database
from receiver.usecases.service import IncidentService
from tests.conftest import REPO, as_group, capture, capture_text
from tests.processes import AUTH, Service, start_receiver

PROXY_HEADER = "X-Forwarded-User"
PROXY = {PROXY_HEADER: "zhangsan"}  # pages trust this header: no login form needed
EAST, WEST = "Asia/Shanghai", "America/Los_Angeles"
# stored before the span was enforced: years 10000 in Shanghai, year 0 in Los Angeles
CALENDAR_ENDS = [
    (EAST, datetime(9999, 12, 31, 21, 59, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)),
    (WEST, datetime(1, 1, 1, 0, 10, tzinfo=UTC), datetime(1, 1, 1, 2, 10, tzinfo=UTC)),
]
REQUEST_TIMEOUT = 10  # seconds; loopback answers in milliseconds


def legacy_hook(
    name: str, tag: str, starts_at: datetime, ends_at: datetime | None
) -> tuple[Webhook, str]:
    """A capture, as alert group `tag`, as the receiver stored it before it checked the
    span: parsed with the capture's times, then given the old ones (as the models held)."""
    body = as_group(capture(name), tag)
    hook = Webhook.parse(body)
    alerts = [
        a.model_copy(update={"starts_at": starts_at, "ends_at": ends_at}) for a in hook.alerts
    ]
    for alert in body["alerts"]:
        alert["startsAt"] = starts_at.isoformat()
        alert["endsAt"] = (ends_at or datetime(1, 1, 1, tzinfo=UTC)).isoformat()
    return hook.model_copy(update={"alerts": alerts}), json.dumps(body)


async def _seed(database_url: str, zone: str, drafts: Path) -> None:
    """Incident 1: the group3 captures, drafted. Incidents 2 and 3: one stored at each end
    of the calendar (firing, then resolved), as an older receiver could have stored them."""
    settings = load_settings(database_url=database_url, timezone=zone, drafts_dir=drafts)
    database = open_database(database_url)
    try:
        await database.migrate()
        service = IncidentService(database, settings, DraftRenderer(settings.template_dir))
        for name in ("firing_group_3", "resolved_group_3"):
            await service.ingest_webhook(Webhook.parse(capture(name)), capture_text(name))
        for _zone, started, ended in CALENDAR_ENDS:
            for name, end in (("firing_single", None), ("resolved_single", ended)):
                await service.ingest_webhook(*legacy_hook(name, f"y{started.year}", started, end))
        await service.close()
    finally:
        await database.close()


SEEDED_INCIDENTS = 3


def start_seeded_receiver(
    request: pytest.FixtureRequest, workdir: Path, database_url: str, zone: str
) -> Service:
    """`serve` with a token, on a database seeded as _seed says, showing times in `zone`."""
    asyncio.run(_seed(database_url, zone, workdir / "drafts"))
    service, _ = start_receiver(
        request,
        workdir,
        database_url=database_url,
        name=f"receiver-{zone.replace('/', '-')}",
        extra_env={
            "RECEIVER_TIMEZONE": zone,
            "RECEIVER_TRUSTED_PROXY_HEADER": PROXY_HEADER,
            # thousands of events from one client; the limit itself is tested elsewhere
            "RECEIVER_EVENT_RATE": "1000000",
            "RECEIVER_RECONCILE_INTERVAL": "0",
        },
    )
    return service


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m receiver ARGS` on the settings' database, in the settings' zone."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("RECEIVER_")}
    env.update(
        RECEIVER_DATABASE_URL=settings.database_url,
        RECEIVER_TIMEZONE=settings.timezone,
        RECEIVER_LOG_FORMAT="json",
        PYTHONPATH=str(REPO),
    )
    return subprocess.run(
        [sys.executable, "-m", "receiver", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def cli(settings: Settings, *args: str) -> str:
    """What the command printed; it must succeed."""
    done = run_cli(settings, *args)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stderr}"
    return done.stdout


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def call(
    service: Service,
    method: str,
    target: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    """One request with the target exactly as given (no quoting, no redirects)."""
    address = urlsplit(service.base_url)
    connection = http.client.HTTPConnection(
        address.hostname or "", address.port, timeout=REQUEST_TIMEOUT
    )
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        content = response.read()
        media = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return Answer(response.status, media, content)
    finally:
        connection.close()


def page_headers(service: Service) -> dict[str, str]:
    """API credentials, the proxy's word and the session cookie it leads to: together
    they open every page and every API route."""
    address = urlsplit(service.base_url)
    connection = http.client.HTTPConnection(
        address.hostname or "", address.port, timeout=REQUEST_TIMEOUT
    )
    try:
        connection.request("GET", "/", headers=PROXY)
        response = connection.getresponse()
        response.read()
        cookie = SimpleCookie(response.getheader("Set-Cookie") or "")
    finally:
        connection.close()
    assert response.status == 303, f"GET / with {PROXY_HEADER}: {response.status}"
    jar = "; ".join(f"{name}={morsel.value}" for name, morsel in cookie.items())
    headers = {**AUTH, **PROXY, "Cookie": jar}
    assert call(service, "GET", "/incidents/1", headers=headers).status == 200
    return headers


def assert_json_error(answer: Answer, method: str, what: str) -> None:
    """No 5xx; any 4xx a JSON object with string `error` and `message`."""
    assert answer.status < 500, f"{what}: HTTP {answer.status}: {answer.body[:300]!r}"
    if answer.status < 400 or method == "HEAD":  # a HEAD answer has no body to check
        return
    assert answer.content_type == "application/json", (
        f"{what}: HTTP {answer.status} as {answer.content_type!r}: {answer.body[:300]!r}"
    )
    body = answer.json()
    assert isinstance(body, dict), f"{what}: {body!r}"
    assert isinstance(body.get("error"), str), f"{what}: {body!r}"
    assert isinstance(body.get("message"), str), f"{what}: {body!r}"
