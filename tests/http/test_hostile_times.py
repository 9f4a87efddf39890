"""Issue 15: times at the edges of the calendar.

Alertmanager takes any RFC 3339 time: year 1 to 9999, offsets from -14:00 to +14:00. The
receiver keeps a time only inside its accepted span (receiver/domain/moments.py: from 1970 up to,
not including, year 9000, in UTC) and answers any other with a 422 that names the span:
so no later step (the zone of RECEIVER_TIMEZONE, durations, evidence windows, calendar
quarters) can leave Python's calendar. Times stored before the span was enforced are still
shown everywhere: a resolve writes its draft, and the pages, the API, the CLI and chat
messages show them (in UTC where the zone would leave the calendar).

Checked on SQLite and PostgreSQL, with a zone east of UTC (Asia/Shanghai) and one west of
it (America/Los_Angeles); the pure parts over the whole calendar and every offset.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from receiver.app import create_app
from receiver.config import Settings, load_settings
from receiver.config.notify import NotifyEvent
from receiver.domain.incident import Incident, IncidentStatus
from receiver.domain.moments import ACCEPTED_SPAN, EARLIEST, END, accepted, in_zone, shifted
from receiver.domain.periods import month_bounds, quarter_bounds
from receiver.evidence.collect import window_of
from receiver.notify.compose import compose
from receiver.notify.message import Message
from receiver.notify.platforms import ChannelKind, build_request
from receiver.web.keys import SERVICE
from tests.conftest import as_group, capture
from tests.hostile import CALENDAR_ENDS, EAST, PROXY, PROXY_HEADER, WEST, cli, legacy_hook
from tests.inbox import applied

Client = TestClient[Any, Any]
ClientFactory = Callable[[web.Application], Awaitable[Client]]
# the zones at the ends of the offsets in use (+14:00 and -12:00), and the two above
ZONES = ("Pacific/Kiritimati", "Asia/Shanghai", "UTC", "America/Los_Angeles", "Etc/GMT+12")
NAIVE_MIN, NAIVE_MAX = datetime.min, datetime.max
NOW = datetime(2026, 11, 26, 19, 12, tzinfo=UTC)
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None)


def near(edge: datetime) -> st.SearchStrategy[datetime]:
    """Wall times within a day and a half of `edge` (naive), as far as the calendar goes."""
    margin = timedelta(hours=36)
    low = NAIVE_MIN if edge - NAIVE_MIN < margin else edge - margin
    high = NAIVE_MAX if NAIVE_MAX - edge < margin else edge + margin
    return st.datetimes(min_value=low, max_value=high)


# any wall time of the calendar, most near its ends and the span's, where offsets matter
EDGES = (NAIVE_MIN, EARLIEST.replace(tzinfo=None), END.replace(tzinfo=None), NAIVE_MAX)
wall_times = st.one_of(
    st.datetimes(min_value=NAIVE_MIN, max_value=NAIVE_MAX), *(near(edge) for edge in EDGES)
)
# any offset Alertmanager's RFC 3339 parser takes
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
instants = wall_times.map(lambda moment: moment.replace(tzinfo=UTC))


def utc_of(wall: datetime, offset: timezone) -> timedelta:
    """The UTC instant of `wall` at `offset`, as time since year 1: never overflows."""
    shift = offset.utcoffset(None)
    return (wall - NAIVE_MIN) - shift


def in_span(wall: datetime, offset: timezone) -> bool:
    since = utc_of(wall, offset)
    return EARLIEST.replace(tzinfo=None) - NAIVE_MIN <= since < END.replace(tzinfo=None) - NAIVE_MIN


# -- pure: the span, zones, periods, evidence windows, chat messages ---------------------


@SETTINGS
@given(wall_times, offsets)
def test_exactly_the_span_is_accepted_at_every_offset(wall: datetime, offset: timezone) -> None:
    moment = wall.replace(tzinfo=offset)
    if in_span(wall, offset):
        assert accepted(moment) == moment
        assert accepted(moment).tzinfo is UTC
    else:
        with pytest.raises(ValueError, match=re.escape(ACCEPTED_SPAN)):
            accepted(moment)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("1970-01-01T00:00:00Z", True),
        ("1969-12-31T23:59:59.999999Z", False),
        ("1970-01-01T08:00:00+08:00", True),
        ("1970-01-01T07:59:59+08:00", False),
        ("1969-12-31T10:00:00-14:00", True),
        ("8999-12-31T23:59:59.999999Z", True),
        ("9000-01-01T00:00:00Z", False),
        ("9000-01-01T13:59:59+14:00", True),
        ("8999-12-31T23:59:59-14:00", False),
        ("9999-12-31T23:59:59-14:00", False),  # year 10000 in UTC
        ("0001-01-01T00:00:00+14:00", False),  # year 0 in UTC
    ],
)
def test_the_span_edges(text: str, ok: bool) -> None:
    moment = datetime.fromisoformat(text)
    if ok:
        assert EARLIEST <= accepted(moment) < END
    else:
        with pytest.raises(ValueError, match="out of range"):
            accepted(moment)


@SETTINGS
@given(instants, st.sampled_from(ZONES))
def test_any_stored_time_is_shown_in_any_zone(moment: datetime, zone_name: str) -> None:
    shown = in_zone(moment, ZoneInfo(zone_name))
    assert shown == moment  # the same instant, on the zone's clock when it has one
    assert shown.strftime("%Y-%m-%d %H:%M:%S %Z")
    if EARLIEST <= moment < END:
        assert shown.tzinfo == ZoneInfo(zone_name)


@SETTINGS
@given(instants, st.sampled_from(ZONES))
def test_month_and_quarter_bounds_of_any_stored_time(moment: datetime, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    for bounds in (month_bounds(moment, zone), quarter_bounds(moment, zone)):
        start, end = bounds
        assert start <= end
        if EARLIEST <= moment < END:
            assert start <= moment < end


@SETTINGS
@given(instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=365 * 100)))
def test_shifts_stop_at_the_calendar_ends(moment: datetime, delta: timedelta) -> None:
    later, earlier = shifted(moment, delta), shifted(moment, -delta)
    assert earlier <= moment <= later
    if EARLIEST <= moment < END:  # inside the span no margin reaches the ends
        assert (later - moment, moment - earlier) == (delta, delta)


def legacy_incident(started_at: datetime, ended_at: datetime | None) -> Incident:
    """An incident as one stored before the span was enforced could be."""
    return Incident(
        id=7,
        key="k",
        receiver="incident-webhook",
        group_key="{}:{}",
        group_labels={},
        common_labels={"service": "payments"},
        common_annotations={},
        external_url="",
        title="payments P99 延迟过高",
        priority="P2",
        status=IncidentStatus.DRAFTED if ended_at else IncidentStatus.FIRING,
        opened_at=NOW,
        started_at=started_at,
        ended_at=ended_at,
        updated_at=NOW,
        service="payments",
    )


@pytest.mark.parametrize(("zone", "started", "ended"), CALENDAR_ENDS)
@pytest.mark.parametrize("language", ["zh", "en"])
def test_chat_messages_of_a_stored_time_at_the_calendar_ends(
    zone: str, started: datetime, ended: datetime, language: str
) -> None:
    incident = legacy_incident(started, ended)
    for event in (NotifyEvent.OPENED, NotifyEvent.DRAFT_WRITTEN):
        message = compose(
            event, incident, language=language, zone=zone, public_url=None, acknowledged_by=None
        )
        # through the outbox's JSON, as the sender reads it
        message = Message.from_json(json.loads(json.dumps(message.to_json())))
        for kind in ChannelKind:
            request = build_request(kind, "https://chat.example/hook", "s", message, NOW)
            body = request.body.decode()
            assert f"{started:%Y-%m-%d}" in body, (kind, body)
            if kind is ChannelKind.WEBHOOK:  # the message itself, as JSON
                assert json.loads(body)["incident"]["duration"] == 7200, body
            else:
                assert ("2小时" if language == "zh" else "2h") in body, (kind, body)


@pytest.mark.parametrize(("zone", "started", "ended"), CALENDAR_ENDS)
def test_evidence_window_of_a_stored_time_at_the_calendar_ends(
    zone: str, started: datetime, ended: datetime
) -> None:
    """Its margins (30 minutes before, 15 after) would leave the calendar: they stop at its
    ends, and a window that is empty or in the future is skipped as such (not a crash)."""
    start, end = window_of(legacy_incident(started, ended), load_settings(), NOW)
    assert start <= started
    assert min(ended, NOW) <= end <= NOW


# -- over HTTP: times at the span's edges are kept and shown -----------------------------


@pytest.fixture(params=[EAST, WEST])
def zone(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], zone: str
) -> Client:
    app = create_app(
        make_settings(timezone=zone, reconcile_interval="0", trusted_proxy_header=PROXY_HEADER)
    )
    return await aiohttp_client(app)


def dated(name: str, tag: str, starts_at: str, ends_at: str | None = None) -> dict[str, Any]:
    """A real capture of one alert as its own group, with the times changed."""
    body = as_group(capture(name), tag)
    for alert in body["alerts"]:
        alert["startsAt"] = starts_at
        if ends_at is not None:
            alert["endsAt"] = ends_at
    return body


async def post(client: Client, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = await client.post(path, json=body)
    return response.status, await response.json()


async def incident_count(client: Client) -> int:
    response = await client.get("/api/v1/incidents")
    assert response.status == 200
    return int((await response.json())["total"])


async def shown_everywhere(client: Client, incident_id: int, local: str) -> None:
    """The list, the incident page, the API and the draft all answer, with the time."""
    listing = await client.get("/", headers=PROXY)
    assert listing.status == 200, await listing.text()
    page = await client.get(f"/incidents/{incident_id}", headers=PROXY)
    text = await page.text()
    assert page.status == 200, text
    assert local in text, local
    detail = await client.get(f"/api/v1/incidents/{incident_id}")
    assert detail.status == 200
    draft = await client.get(f"/api/v1/incidents/{incident_id}/postmortem.md")
    assert draft.status == 200, await draft.text()
    assert (
        await client.get(f"/incidents/{incident_id}/postmortem.md", headers=PROXY)
    ).status == 200


SPAN_EDGES = [
    "1970-01-01T00:00:00Z",
    "1969-12-31T10:00:00-14:00",
    "1970-01-01T08:00:00.000000001+08:00",
    "8999-12-31T23:59:59.999999Z",
    "9000-01-01T13:59:59+14:00",
]


@pytest.mark.parametrize("moment", SPAN_EDGES)
async def test_alerts_at_the_span_edges_fire_resolve_and_show(
    client: Client, zone: str, moment: str
) -> None:
    status, accepted = await post(client, "/api/v1/alerts", dated("firing_single", "edge", moment))
    assert status == 202, accepted
    fired = await applied(client, accepted)
    assert fired["created"] is True, fired
    status, accepted = await post(
        client, "/api/v1/alerts", dated("resolved_single", "edge", moment, moment)
    )
    assert status == 202, accepted
    resolved = await applied(client, accepted)
    assert (resolved["code"], resolved["incident_id"]) == (200, fired["incident_id"]), resolved
    assert (resolved["incident_status"], resolved["draft_revision"]) == ("drafted", 1)
    utc = datetime.fromisoformat(moment).astimezone(UTC)
    await shown_everywhere(
        client, fired["incident_id"], f"{utc.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M:%S}"
    )


@pytest.mark.parametrize("moment", SPAN_EDGES)
async def test_events_at_the_span_edges_open_resolve_and_show(
    client: Client, zone: str, moment: str
) -> None:
    event = {"service": "edge", "message": "手动上报", "actor": "zhangsan", "at": moment}
    status, opened = await post(client, "/api/v1/events", {**event, "type": "system-alert"})
    assert (status, opened["created"]) == (201, True), opened
    status, closed = await post(client, "/api/v1/events", {**event, "type": "resolve"})
    assert (status, closed["incident_status"]) == (201, "drafted"), closed
    utc = datetime.fromisoformat(moment).astimezone(UTC)
    await shown_everywhere(
        client, opened["incident_id"], f"{utc.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M:%S}"
    )


OUT_OF_SPAN = [
    "1969-12-31T23:59:59.999999Z",
    "1970-01-01T07:59:59+08:00",
    "9000-01-01T00:00:00Z",
    "8999-12-31T23:59:59-14:00",
    "9999-12-31T20:00:00Z",  # the alert that made every resolve a 500 in Asia/Shanghai
    "9999-12-31T23:59:59-14:00",
    "0002-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
]


@pytest.mark.parametrize("moment", OUT_OF_SPAN)
async def test_alert_times_outside_the_span_are_422_naming_it(client: Client, moment: str) -> None:
    in_span = "2026-11-26T19:11:48Z"
    cases = {
        "alerts.0.startsAt": dated("firing_single", "out", moment),
        "alerts.0.endsAt": dated("resolved_single", "out", in_span, moment),
    }
    for field, body in cases.items():
        if field.endswith("endsAt") and moment.startswith("0001"):
            continue  # year 1 is Go's zero time: as endsAt it means "no end"
        status, answer = await post(client, "/api/v1/alerts", body)
        assert (status, answer["error"]) == (422, "invalid_webhook"), answer
        assert field in answer["message"], answer
        assert ACCEPTED_SPAN in answer["message"], answer
    assert await incident_count(client) == 0


@pytest.mark.parametrize("moment", OUT_OF_SPAN)
async def test_event_times_outside_the_span_are_422_naming_it(client: Client, moment: str) -> None:
    event = {"type": "system-alert", "service": "out", "message": "m", "actor": "a", "at": moment}
    status, answer = await post(client, "/api/v1/events", event)
    assert (status, answer["error"]) == (422, "invalid_event"), answer
    assert "at: " in answer["message"], answer
    assert ACCEPTED_SPAN in answer["message"], answer
    assert await incident_count(client) == 0


# -- times stored before the span was enforced -------------------------------------------


# slow: runs the CLI as three processes per case (10-15 s); the full run keeps it
@pytest.mark.slow
@pytest.mark.parametrize(("zone", "started", "ended"), CALENDAR_ENDS, indirect=["zone"])
async def test_stored_times_at_the_calendar_ends_resolve_and_show(
    client: Client, zone: str, started: datetime, ended: datetime
) -> None:
    service = client.app[SERVICE]
    fired = await service.ingest_webhook(*legacy_hook("firing_single", "old", started, None))
    # before the fix: OverflowError rendering the draft, so a 500 on every retry
    resolved = await service.ingest_webhook(*legacy_hook("resolved_single", "old", started, ended))
    assert resolved.incident_id == fired.incident_id
    assert (resolved.status, resolved.draft_revision) == (IncidentStatus.DRAFTED, 1)
    await shown_everywhere(client, fired.incident_id, f"{started:%Y-%m-%d %H:%M:%S}")
    draft = await (await client.get(f"/api/v1/incidents/{fired.incident_id}/postmortem.md")).text()
    assert f"{started:%Y-%m-%d %H:%M:%S}" in draft

    settings_of_app: Settings = service.settings
    listing = await asyncio.to_thread(cli, settings_of_app, "incidents", "list")
    assert f"#{fired.incident_id}\tdrafted" in listing
    number = str(fired.incident_id)
    shown = json.loads(
        await asyncio.to_thread(cli, settings_of_app, "incidents", "show", number, "--json")
    )
    assert shown["started_at"] == started.isoformat().replace("+00:00", "Z")
    markdown = await asyncio.to_thread(
        cli, settings_of_app, "incidents", "show", number, "--markdown"
    )
    assert markdown == draft
