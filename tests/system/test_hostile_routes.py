"""Issue 15: integers of any length in every path and query, and times across the whole
calendar in every body, against `serve` with a token, on SQLite and PostgreSQL.

The routes are the app's router's (`create_app(...).router`); the query parameters every
route is sent are those of the OpenAPI document and those receiver/web/params.py declares
(every handler reads its integers through it); the bodies that carry times are found in
the document too. A new route, parameter or time field is therefore covered without a
new test, or (a time field no builder below fills) fails the coverage check by name.

The receiver is seeded with the group3 captures (incident 1, drafted) and with one
incident stored at each end of the calendar, as a receiver that did not yet check the
span of times could have stored them (tests/hostile.py). Asserted on every answer: no
5xx, and every error a JSON object with `error` and `message`; an integer outside the
range the document gives is a 4xx; a time is accepted exactly when it lies in the span
(receiver/domain/moments.py), and once accepted the list, the incident page, the API and the
draft all still answer.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from receiver.__main__ import main as cli_main
from receiver.app import create_app
from receiver.config import load_settings
from receiver.domain.moments import EARLIEST, END
from receiver.web import params
from receiver.web.api import openapi
from receiver.web.params import bounded_int
from tests.conftest import BACKENDS, FIXTURES, as_group, capture, fresh_postgres_database
from tests.hostile import (
    EAST,
    SEEDED_INCIDENTS,
    WEST,
    Answer,
    assert_json_error,
    call,
    page_headers,
    start_seeded_receiver,
)
from tests.inbox import applied_sync
from tests.processes import Service

EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
DATE_EXAMPLES = settings(EXAMPLES, max_examples=60)
# aiohttp refuses request lines over 8190 bytes itself: stay under, with room for the path
MAX_TARGET = 8000
NAIVE_MIN, NAIVE_MAX = datetime.min, datetime.max


# -- the routes, from the router and the document ----------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # the path with {name} for each path parameter

    @property
    def path_names(self) -> list[str]:
        return re.findall(r"\{(\w+)", self.template)

    def target(self, values: dict[str, str]) -> str:
        return re.sub(
            r"\{(\w+)[^}]*\}", lambda m: quote(values[m.group(1)], safe=""), self.template
        )

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def app_routes() -> list[Route]:
    app = create_app(load_settings(database_url="sqlite:///unused.db", drafts_dir=""))
    routes = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        if "formatter" in info:
            template = str(info["formatter"])
        elif "prefix" in info:  # the static files: a file name under the prefix
            template = f"{info['prefix']}/{{filename}}"
        else:
            template = str(info["path"])
        routes.append(Route(route.method, template))
    return sorted(set(routes), key=str)


ROUTES = app_routes()
DOCUMENT = openapi.build()


def documented_parameters() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, template, parameter) of every parameter of every documented operation."""
    found = []
    for path, item in DOCUMENT["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method != "parameters":
                for parameter in [*shared, *operation.get("parameters", [])]:
                    found.append((method.upper(), path, parameter))
    return found


# (method, template, name) → (minimum, maximum) of every documented integer
DOCUMENTED = {
    (method, path, parameter["name"]): (
        parameter["schema"]["minimum"],
        parameter["schema"]["maximum"],
    )
    for method, path, parameter in documented_parameters()
    if parameter["schema"].get("type") == "integer"
}
QUERY_NAMES = sorted(
    {parameter["name"] for _, _, parameter in documented_parameters() if parameter["in"] == "query"}
    | {param.name for param in params.DECLARED}
)


def test_the_routes_and_names_are_found() -> None:
    """Guards the discovery above: it sees the routes and names it must."""
    names = {str(route) for route in ROUTES}
    assert {"GET /api/v1/incidents/{incident_id}", "GET /", "POST /login"} <= names
    assert any("{number}" in route.template for route in ROUTES)
    assert {"limit", "offset", "revision", "page", "from", "to"} <= set(QUERY_NAMES)
    assert ("GET", "/api/v1/incidents", "limit") in DOCUMENTED


# -- the receiver --------------------------------------------------------------------------


SETUPS = [*((backend, EAST) for backend in BACKENDS), ("postgresql", WEST)]


@pytest.fixture(scope="module", params=SETUPS, ids=["-".join(setup) for setup in SETUPS])
def setup(request: pytest.FixtureRequest) -> tuple[str, str]:
    backend, zone = request.param
    return str(backend), str(zone)


@pytest.fixture(scope="module")
def database_url(setup: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if setup[0] == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('hostile-db') / 'r.db'}"
    else:
        yield from fresh_postgres_database()


@dataclass(frozen=True)
class Receiver:
    service: Service
    zone: str
    headers: dict[str, str]

    def get(self, target: str) -> Answer:
        return call(self.service, "GET", target, headers=self.headers)

    def post_json(self, target: str, body: Any, method: str = "POST") -> Answer:
        headers = {**self.headers, "Content-Type": "application/json"}
        return call(self.service, method, target, headers=headers, body=json.dumps(body).encode())


@pytest.fixture(scope="module")
def receiver(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    setup: tuple[str, str],
    database_url: str,
) -> Receiver:
    workdir: Path = tmp_path_factory.mktemp("hostile")
    service = start_seeded_receiver(request, workdir, database_url, setup[1])
    return Receiver(service, setup[1], page_headers(service))


# -- integers of any length, on every route ------------------------------------------------

# decimal text of any length: Python's int() reads at most 4,300 digits, PostgreSQL's
# integer 10, its bigint 19
EDGES = [0, 1, 2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**9]
integer_texts = st.one_of(
    st.integers().map(str),
    st.sampled_from(EDGES).flatmap(lambda n: st.sampled_from([str(n - 1), str(n), str(n + 1)])),
    st.integers(min_value=1, max_value=40).map(lambda n: "9" * n),
    st.integers(min_value=4_000, max_value=5_000).map(lambda n: "9" * n),  # past int()'s limit
    st.text("0123456789", min_size=1, max_size=5_000),
    st.tuples(st.integers(1, 3_000), st.integers(0, 99)).map(lambda t: "0" * t[0] + str(t[1])),
    st.text(st.characters(categories=["Nd"]), min_size=1, max_size=12),  # '٣' is a digit too
)


def in_range(text: str, bounds: tuple[int, int]) -> bool:
    return bounded_int(text, *bounds) is not None


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_integers_of_any_length_in_every_path_and_query(receiver: Receiver, route: Route) -> None:
    @EXAMPLES
    @given(
        path=st.fixed_dictionaries(
            {
                name: st.one_of(integer_texts, st.integers(1, SEEDED_INCIDENTS).map(str))
                for name in route.path_names
            }
        ),
        query=st.dictionaries(st.sampled_from(QUERY_NAMES), integer_texts, max_size=3),
    )
    def check(path: dict[str, str], query: dict[str, str]) -> None:
        target = route.target(path) + ("?" + urlencode(query) if query else "")
        assume(len(target) <= MAX_TARGET)
        body = b"{}" if route.method in ("POST", "PATCH") else None
        headers = {**receiver.headers, "Content-Type": "application/json"}
        answer = call(receiver.service, route.method, target, headers=headers, body=body)
        what = f"{route.method} {target[:200]}"
        assert_json_error(answer, route.method, what)
        documented = {**path, **query}
        out_of_range = [
            name
            for name, value in documented.items()
            if (bounds := DOCUMENTED.get((route.method, route.template, name)))
            and not in_range(value, bounds)
        ]
        if out_of_range:
            assert 400 <= answer.status < 500, f"{what}: {out_of_range} out of range: {answer}"

    check()


@pytest.mark.parametrize("number", ["0", "2147483648", str(2**64), "9" * 5000, "-1", "１"])
def test_integers_out_of_range_on_the_command_line(
    number: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A usage error (exit 2) naming the range, before any query the database would refuse
    (which read as "store unavailable")."""
    monkeypatch.setenv("RECEIVER_LANGUAGE", "en")
    for args in (
        ["incidents", "show", number],
        ["incidents", "list", "--limit", number],
        ["drafts", "export", "--id", number],
        ["replay", "--incident", number],
    ):
        with pytest.raises(SystemExit) as stopped:
            cli_main(args)
        assert stopped.value.code == 2, args
        assert "give an integer from 1 to" in capsys.readouterr().err, args


# -- times across the whole calendar, in every body that carries one -----------------------

wall_times = st.one_of(
    st.datetimes(min_value=NAIVE_MIN, max_value=NAIVE_MAX),
    *(
        st.datetimes(min_value=edge - timedelta(hours=36), max_value=edge + timedelta(hours=36))
        for edge in (EARLIEST.replace(tzinfo=None), END.replace(tzinfo=None))
    ),
    st.datetimes(min_value=NAIVE_MIN, max_value=NAIVE_MIN + timedelta(days=2)),
    st.datetimes(min_value=NAIVE_MAX - timedelta(days=2), max_value=NAIVE_MAX),
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60)


@dataclass(frozen=True)
class Sent:
    """An RFC 3339 time as sent, and whether the receiver must accept it."""

    text: str
    in_span: bool
    zero: bool  # year 1: Go's zero time, "no end" as an endsAt

    @classmethod
    def of(cls, wall: datetime, minutes: int) -> Sent:
        sign = "+" if minutes >= 0 else "-"
        offset = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        text = wall.isoformat() + ("Z" if minutes == 0 else offset)
        since = (wall - NAIVE_MIN) - timedelta(minutes=minutes)  # UTC, never overflowing
        low, high = (edge.replace(tzinfo=None) - NAIVE_MIN for edge in (EARLIEST, END))
        return cls(text, low <= since < high, wall.year == 1)


times = st.builds(Sent.of, wall_times, offsets)
tags = iter(range(10**9))


def shown(receiver: Receiver, incident_id: int, drafted: bool) -> None:
    for target in ("/", f"/incidents/{incident_id}", f"/api/v1/incidents/{incident_id}"):
        answer = receiver.get(target)
        assert answer.status == 200, f"GET {target}: {answer}"
    if drafted:
        for target in (
            f"/api/v1/incidents/{incident_id}/postmortem.md",
            f"/incidents/{incident_id}/postmortem.md",
        ):
            answer = receiver.get(target)
            assert answer.status == 200, f"GET {target}: {answer}"


def alerts_with(receiver: Receiver, starts: Sent, ends: Sent) -> None:
    """A group fires at `starts` and resolves at `ends`."""
    tag = f"t{next(tags)}"
    firing = as_group(capture("firing_single"), tag)
    resolved = as_group(capture("resolved_single"), tag)
    for alert in firing["alerts"]:
        alert["startsAt"] = starts.text
    for alert in resolved["alerts"]:
        alert["startsAt"], alert["endsAt"] = starts.text, ends.text
    fire_and_resolve(receiver, firing, resolved, starts, ends)


def grafana_with(receiver: Receiver, starts: Sent, ends: Sent) -> None:
    """Grafana's documented group fires at `starts` and resolves at `ends`."""
    tag = f"t{next(tags)}"
    firing = json.loads((FIXTURES / "grafana" / "webhook_values.json").read_text("utf-8"))
    firing["groupKey"] = f"{firing['groupKey']}{tag}"
    for alert in firing["alerts"]:
        unique = hashlib.sha256(f"{alert['fingerprint']}{tag}".encode()).hexdigest()
        alert["fingerprint"] = unique[:16]  # Alertmanager's fingerprints are 16 hex digits
        alert["status"], alert["startsAt"] = "firing", starts.text
    resolved = json.loads(json.dumps(firing))
    resolved["status"] = "resolved"
    for alert in resolved["alerts"]:
        alert["status"], alert["endsAt"] = "resolved", ends.text
    fire_and_resolve(receiver, firing, resolved, starts, ends)


def fire_and_resolve(
    receiver: Receiver, firing: dict[str, Any], resolved: dict[str, Any], starts: Sent, ends: Sent
) -> None:
    """Each is accepted exactly when its times are in the span, and what was accepted shows."""
    fired = receiver.post_json("/api/v1/alerts", firing)
    assert_json_error(fired, "POST", f"firing at {starts.text}")
    assert (fired.status == 202) == starts.in_span, f"startsAt {starts}: {fired}"
    answer = receiver.post_json("/api/v1/alerts", resolved)
    assert_json_error(answer, "POST", f"resolved at {ends.text}")
    accepted = starts.in_span and (ends.in_span or ends.zero)
    assert (answer.status == 202) == accepted, f"{starts} … {ends}: {answer}"
    if accepted:
        stored = answer.json()
        assert isinstance(stored, dict)
        # applied behind the answer: an entry that could not be is quarantined, and fails here
        result = applied_sync(receiver.service.base_url, stored, receiver.headers)
        shown(receiver, int(result["incident_id"]), result["incident_status"] == "drafted")


def events_with(receiver: Receiver, opened: Sent, closed: Sent) -> None:
    """A person reports an incident at `opened` and closes it at `closed`."""
    event = {"service": f"t{next(tags)}", "message": "手动上报", "actor": "zhangsan"}
    answer = receiver.post_json(
        "/api/v1/events", {**event, "type": "system-alert", "at": opened.text}
    )
    assert_json_error(answer, "POST", f"opened at {opened.text}")
    assert (answer.status == 201) == opened.in_span, f"at {opened}: {answer}"
    if answer.status != 201:
        return
    answer = receiver.post_json("/api/v1/events", {**event, "type": "resolve", "at": closed.text})
    assert_json_error(answer, "POST", f"closed at {closed.text}")
    assert (answer.status == 201) == closed.in_span, f"at {closed}: {answer}"
    if answer.status == 201:
        result = answer.json()
        assert isinstance(result, dict)
        shown(receiver, int(result["incident_id"]), result["incident_status"] == "drafted")


def fields_with(receiver: Receiver, due: date) -> None:
    """Incident 1's action item and improvement are due on `due` (a date: no zone)."""
    fields = {
        "actions": [
            {"text": "扩容连接池", "owner": "lisi", "due": due.isoformat(), "horizon": "short"}
        ],
        "improvements": [{"text": "压测", "area": "dev", "due": due.isoformat()}],
    }
    answer = receiver.post_json("/api/v1/incidents/1", fields, method="PATCH")
    assert answer.status == 200, f"due {due}: {answer}"
    shown(receiver, 1, drafted=True)
    draft = receiver.get("/api/v1/incidents/1/postmortem.md").body.decode()
    assert due.isoformat() in draft


def changes_with(receiver: Receiver, at: Sent) -> None:
    """A person records a change made at `at` (issue 20); the list shows that moment."""
    service = f"c{next(tags)}"
    change = {"service": service, "type": "deploy", "what": "发布 v2", "at": at.text}
    answer = receiver.post_json("/api/v1/changes/manual", change)
    assert_json_error(answer, "POST", f"change at {at.text}")
    assert (answer.status == 202) == at.in_span, f"at {at}: {answer}"
    if answer.status != 202:
        return
    accepted = answer.json()
    assert isinstance(accepted, dict)
    deadline = time.monotonic() + 15
    while True:
        entry = receiver.get(f"/api/v1/inbox/{accepted['inbox_id']}").json()
        assert isinstance(entry, dict)
        if entry["state"] != "pending":
            break
        assert time.monotonic() < deadline, f"inbox entry {accepted['inbox_id']} not applied"
        time.sleep(0.02)
    assert entry["state"] == "applied", entry
    found = receiver.get(f"/api/v1/changes?service={service}").json()
    assert isinstance(found, dict)
    [listed] = found["changes"]
    sent = datetime.fromisoformat(at.text.replace("Z", "+00:00")).astimezone(UTC)
    assert listed["started_at"] == sent.isoformat().replace("+00:00", "Z"), at


# Each operation whose body carries a time, and the body fields the test fills.
TIME_BODIES: dict[tuple[str, str], tuple[set[str], Callable[..., None]]] = {
    ("POST", "/api/v1/alerts"): (
        {"Alert.startsAt", "Alert.endsAt", "GrafanaAlert.startsAt", "GrafanaAlert.endsAt"},
        alerts_with,
    ),
    ("POST", "/api/v1/events"): ({"ManualEvent.at"}, events_with),
    ("POST", "/api/v1/changes/{source}"): ({"ManualChange.at"}, changes_with),
    ("PATCH", "/api/v1/incidents/{incident_id}"): (
        {"ActionItem.due", "Improvement.due"},
        fields_with,
    ),
}


def time_fields(schema: Any, seen: frozenset[str] = frozenset()) -> set[str]:
    """`Schema.property` of every date or date-time a request body schema reaches."""
    found: set[str] = set()
    if isinstance(schema, dict):
        reference = schema.get("$ref")
        if isinstance(reference, str):
            name = reference.rsplit("/", 1)[-1]
            if name in seen:
                return found
            target = DOCUMENT["components"]["schemas"][name]
            for prop, sub in target.get("properties", {}).items():
                if _is_time(sub):
                    found.add(f"{name}.{prop}")
            return found | time_fields(target, seen | {name})
        for value in schema.values():
            found |= time_fields(value, seen)
    elif isinstance(schema, list):
        for value in schema:
            found |= time_fields(value, seen)
    return found


def _is_time(schema: Any) -> bool:
    variants = schema.get("anyOf", [schema]) if isinstance(schema, dict) else []
    return any(v.get("format") in ("date", "date-time") for v in variants if isinstance(v, dict))


def test_every_body_time_is_generated() -> None:
    """Every date or time a request body takes, in the document, is one the tests send."""
    carried = {}
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method != "parameters" and "requestBody" in operation:
                fields = time_fields(operation["requestBody"])
                if fields:
                    carried[(method.upper(), path)] = fields
    assert set(carried) == set(TIME_BODIES), "a body with times the tests do not send"
    for operation, fields in carried.items():
        assert fields <= TIME_BODIES[operation][0], f"{operation}: {fields}"


def test_alert_times_across_the_calendar(receiver: Receiver) -> None:
    @DATE_EXAMPLES
    @given(times, times)
    def check(starts: Sent, ends: Sent) -> None:
        alerts_with(receiver, starts, ends)

    check()


def test_grafana_alert_times_across_the_calendar(receiver: Receiver) -> None:
    @DATE_EXAMPLES
    @given(times, times)
    def check(starts: Sent, ends: Sent) -> None:
        grafana_with(receiver, starts, ends)

    check()


def test_event_times_across_the_calendar(receiver: Receiver) -> None:
    @DATE_EXAMPLES
    @given(times, times)
    def check(opened: Sent, closed: Sent) -> None:
        events_with(receiver, opened, closed)

    check()


def test_change_times_across_the_calendar(receiver: Receiver) -> None:
    @DATE_EXAMPLES
    @given(times)
    def check(at: Sent) -> None:
        changes_with(receiver, at)

    check()


def test_due_dates_across_the_calendar(receiver: Receiver) -> None:
    @settings(EXAMPLES, max_examples=15)
    @given(st.dates(min_value=date.min, max_value=date.max))
    def check(due: date) -> None:
        fields_with(receiver, due)

    check()


def test_the_seeded_times_at_the_calendar_ends_are_shown(receiver: Receiver) -> None:
    for incident_id in range(1, SEEDED_INCIDENTS + 1):
        shown(receiver, incident_id, drafted=True)
