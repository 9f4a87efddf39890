"""query_range against a real Prometheus, and every way a Prometheus can fail.

The first tests drive a gauge that a real Prometheus scrapes every second; the others
put small aiohttp servers on loopback that answer as a broken Prometheus would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import Gauge

from receiver.evidence.prometheus import EvidenceUnavailable, QueryResult, query_range, step_for
from receiver.evidence.promql import Threshold
from receiver.evidence.summary import summarize
from tests.processes import LOOPBACK, free_port, poll
from tests.prometheus_process import (
    SCRAPE_INTERVAL_SECONDS,
    Exporter,
    Prometheus,
    prometheus_config,
    start_exporter,
    start_prometheus,
)

ServerFactory = Callable[..., Awaitable[TestServer]]
SCRAPE = timedelta(seconds=SCRAPE_INTERVAL_SECONDS)
LOW, HIGH = 0.01, 0.2
LABELLED_PEAKS = (1.0, 5.0, 3.0, 4.0, 2.0)  # idx 0-4: the top two are idx 1 and 3


@pytest.fixture(scope="module")
def exporter(request: pytest.FixtureRequest) -> Exporter:
    return start_exporter(request)


@pytest.fixture(scope="module")
def value_gauge(exporter: Exporter) -> Gauge:
    gauge = Gauge("evidence_test_value", "The value the test drives.", registry=exporter.registry)
    gauge.set(LOW)
    return gauge


@pytest.fixture(scope="module")
def labelled_gauge(exporter: Exporter) -> Gauge:
    gauge = Gauge("evidence_test_labelled", "Five series.", ["idx"], registry=exporter.registry)
    for idx, value in enumerate(LABELLED_PEAKS):
        gauge.labels(idx=str(idx)).set(value)
    return gauge


@pytest.fixture(scope="module")
def prometheus(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    exporter: Exporter,
    value_gauge: Gauge,
    labelled_gauge: Gauge,
) -> Prometheus:
    return start_prometheus(request, tmp_path_factory.mktemp("evidence"), [exporter.address])


async def instant(http: aiohttp.ClientSession, prometheus: Prometheus, expr: str) -> list[float]:
    """The values of an instant query now."""
    url = f"{prometheus.base_url}/api/v1/query"
    async with http.post(url, data={"query": expr}) as response:
        payload = await response.json()
    assert payload["status"] == "success", payload
    return [float(sample["value"][1]) for sample in payload["data"]["result"]]


async def scraped(
    http: aiohttp.ClientSession, prometheus: Prometheus, expr: str, expected: list[float]
) -> None:
    async def probe() -> bool | None:
        return True if sorted(await instant(http, prometheus, expr)) == expected else None

    await poll(f"{expr} == {expected} in Prometheus", probe, seconds=10)


def now() -> datetime:
    return datetime.now(UTC)


# -- the real Prometheus -----------------------------------------------------------------


async def test_the_values_a_gauge_went_through(
    http: aiohttp.ClientSession, prometheus: Prometheus, value_gauge: Gauge
) -> None:
    await scraped(http, prometheus, "evidence_test_value", [LOW])
    start = now()
    await asyncio.sleep(2)
    went_up = now()
    value_gauge.set(HIGH)
    await scraped(http, prometheus, "evidence_test_value", [HIGH])
    await asyncio.sleep(2)
    went_down = now()
    value_gauge.set(LOW)
    await scraped(http, prometheus, "evidence_test_value", [LOW])
    await asyncio.sleep(1)
    end = now()

    result = await query_range(
        http, prometheus.base_url, "evidence_test_value", start, end, timeout=5
    )
    assert result.step == timedelta(seconds=1)
    assert result.truncated_series == 0
    (series,) = result.series
    assert series.labels["__name__"] == "evidence_test_value"
    assert series.labels["job"] == "exporter"
    assert {value for _, value in series.points} == {LOW, HIGH}
    assert len(series.points) <= (end - start).total_seconds() + 1

    threshold = Threshold(">", 0.1)
    stats = summarize(result.series, threshold, (went_up, went_down), step=result.step).overall
    # seen within a scrape (the sample) and a step (the next evaluation) of the change
    late = SCRAPE + result.step + timedelta(milliseconds=500)
    assert stats.peak == HIGH
    assert stats.peak_at is not None
    assert went_up <= stats.peak_at <= went_up + late
    assert stats.first_crossing == stats.peak_at
    assert stats.last_crossing is not None
    assert went_down <= stats.last_crossing <= went_down + late
    assert stats.breach_time is not None
    assert abs(stats.breach_time - (went_down - went_up)) <= late
    assert not stats.breaching_at_start
    assert not stats.breaching_at_end


async def test_series_beyond_the_cap_are_cut_keeping_the_highest(
    http: aiohttp.ClientSession, prometheus: Prometheus
) -> None:
    await scraped(http, prometheus, "evidence_test_labelled", sorted(LABELLED_PEAKS))
    end = now()
    result = await query_range(
        http,
        prometheus.base_url,
        "evidence_test_labelled",
        end - timedelta(seconds=3),
        end,
        timeout=5,
        max_series=2,
    )
    assert result.truncated_series == 3
    assert [series.labels["idx"] for series in result.series] == ["1", "3"]


async def test_max_points_sets_the_step(
    http: aiohttp.ClientSession, prometheus: Prometheus
) -> None:
    end = now().replace(microsecond=0)  # a whole hour: 7 points, not 6 by a millisecond
    result = await query_range(
        http,
        prometheus.base_url,
        "vector(1)",
        end - timedelta(hours=1),
        end,
        timeout=5,
        max_points=10,
    )
    assert result.step == timedelta(minutes=10)
    (series,) = result.series
    assert len(series.points) == 7  # every 10 minutes from the start: 0, 10, ... 60


async def test_a_bad_expression_reports_prometheus_error(
    http: aiohttp.ClientSession, prometheus: Prometheus
) -> None:
    end = now()
    with pytest.raises(EvidenceUnavailable) as caught:
        await query_range(
            http, prometheus.base_url, "rate(x[5m]", end - SCRAPE * 10, end, timeout=5
        )
    assert caught.value.reason.startswith("query error: bad_data: ")
    assert "parse error" in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_the_helpers_config_with_rules_and_an_alertmanager_is_valid(tmp_path: Path) -> None:
    """What start_prometheus writes for an end-to-end test of alerts, checked by promtool."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not on PATH (Debian: apt install prometheus)")
    rules = tmp_path / "rules.yml"
    rule = {"alert": "High", "expr": "evidence_test_value > 0.1", "for": "1s"}
    rules.write_text(json.dumps({"groups": [{"name": "test", "rules": [rule]}]}), "utf-8")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        prometheus_config(
            ["127.0.0.1:9100"], rule_files=[rules], alertmanager_url="http://127.0.0.1:9093/am"
        ),
        "utf-8",
    )
    checked = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 1 rules found" in checked.stdout + checked.stderr
    alerting = json.loads(config.read_text("utf-8"))["alerting"]["alertmanagers"][0]
    assert alerting["static_configs"] == [{"targets": ["127.0.0.1:9093"]}]
    assert alerting["path_prefix"] == "/am"


# -- broken Prometheus servers -----------------------------------------------------------

START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
END = START + timedelta(minutes=10)


def answering(status: int, body: str, content_type: str = "application/json") -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body, content_type=content_type)

    app = web.Application()
    app.router.add_post("/api/v1/query_range", handle)
    return app


async def fetch(server: TestServer, **options: Any) -> QueryResult:
    base = str(server.make_url("/")).rstrip("/")
    async with aiohttp.ClientSession() as session:
        return await query_range(session, base, "up", START, END, **{"timeout": 5, **options})


async def unavailable(server: TestServer, **options: Any) -> str:
    with pytest.raises(EvidenceUnavailable) as caught:
        await fetch(server, **options)
    return caught.value.reason


async def test_connection_refused_without_the_password_in_the_reason() -> None:
    address = f"{LOOPBACK}:{free_port()}"  # nothing listens there
    async with aiohttp.ClientSession() as session:
        with pytest.raises(EvidenceUnavailable) as caught:
            await query_range(session, f"http://u:pw@{address}", "up", START, END, timeout=5)
    assert caught.value.reason == (
        f"cannot connect to http://{address}/api/v1/query_range: Connection refused"
    )


@pytest.fixture
def release() -> Iterator[asyncio.Event]:
    """Set at teardown: the sleeping handler returns and its server can stop."""
    event = asyncio.Event()
    yield event
    event.set()


async def test_a_slow_prometheus_times_out(
    aiohttp_server: ServerFactory, release: asyncio.Event
) -> None:
    async def handle(request: web.Request) -> web.Response:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), timeout=10)
        return web.json_response({"status": "success", "data": {}})

    app = web.Application()
    app.router.add_post("/api/v1/query_range", handle)
    server = await aiohttp_server(app, host=LOOPBACK)
    started = asyncio.get_running_loop().time()
    assert await unavailable(server, timeout=0.3) == "timed out after 0.3s"
    assert asyncio.get_running_loop().time() - started < 2


async def test_a_prometheus_that_stalls_mid_answer_times_out(
    aiohttp_server: ServerFactory, release: asyncio.Event
) -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"status": "success", ')
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), timeout=10)
        return response

    app = web.Application()
    app.router.add_post("/api/v1/query_range", handle)
    server = await aiohttp_server(app, host=LOOPBACK)
    assert await unavailable(server, timeout=0.3) == "timed out after 0.3s"


@pytest.mark.parametrize(
    ("status", "body", "content_type", "reason"),
    [
        (200, "<p>hi</p>", "text/html", "not a Prometheus API answer (text/html): <p>hi</p>"),
        (500, "internal\n  error", "text/plain", "HTTP 500: internal error"),
        (502, "", "text/plain", "HTTP 502: (empty body)"),
        (404, "404 page not found", "text/plain", "HTTP 404: 404 page not found"),
        (
            503,
            json.dumps({"status": "error", "errorType": "timeout", "error": "query timed out"}),
            "application/json",
            "query error: timeout: query timed out",
        ),
        (
            422,
            json.dumps({"status": "error", "errorType": "execution", "error": "many-to-many"}),
            "application/json",
            "query error: execution: many-to-many",
        ),
        (503, json.dumps({"other": 1}), "application/json", 'HTTP 503: {"other": 1}'),
        (200, "[1, 2]", "application/json", "HTTP 200: not a Prometheus API answer: [1, 2]"),
        (
            200,
            json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}}),
            "application/json",
            "expected a matrix result, got 'vector'",
        ),
        (
            200,
            json.dumps({"status": "success", "data": {"resultType": "matrix", "result": {}}}),
            "application/json",
            "malformed answer: result is not a list",
        ),
        (
            200,
            json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {}, "values": [[1, "1", 2]]}]}}),
            "application/json",
            "malformed answer: sample [1, '1', 2]",
        ),
        (
            200,
            json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {}, "values": [["x", "1"]]}]}}),
            "application/json",
            "malformed answer: sample ['x', '1']",
        ),
        (200, "[" * 100_000 + "]" * 100_000, "application/json", None),
    ],
)  # fmt: skip
async def test_a_broken_answer_gives_a_reason(
    aiohttp_server: ServerFactory, status: int, body: str, content_type: str, reason: str | None
) -> None:
    server = await aiohttp_server(answering(status, body, content_type), host=LOOPBACK)
    found = await unavailable(server)
    if reason is not None:
        assert found == reason
    assert len(found) < 400  # a reason, not the whole body


async def test_an_answer_over_max_bytes_is_refused(aiohttp_server: ServerFactory) -> None:
    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": []}})
    server = await aiohttp_server(answering(200, body + " " * 5000), host=LOOPBACK)
    assert await unavailable(server, max_bytes=1000) == "answer larger than 1000 bytes"
    assert (await fetch(server, max_bytes=10_000)).series == []


async def test_a_chunked_answer_over_max_bytes_is_refused(aiohttp_server: ServerFactory) -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()  # no Content-Length to check first
        await response.prepare(request)
        for _ in range(10):
            await response.write(b" " * 500)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/api/v1/query_range", handle)
    server = await aiohttp_server(app, host=LOOPBACK)
    assert await unavailable(server, max_bytes=1000) == "answer larger than 1000 bytes"


@pytest.fixture
async def recording_server(
    aiohttp_server: ServerFactory,
) -> tuple[TestServer, list[dict[str, Any]]]:
    """Answers a fixed matrix with NaN and ±Inf samples; records each request."""
    requests: list[dict[str, Any]] = []
    answer = {
        "status": "success",
        "warnings": ["results truncated due to limit"],
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"__name__": "up", "instance": "a"},
                    "values": [
                        [1796032800, "1"],
                        [1796032860, "NaN"],
                        [1796032920, "+Inf"],
                        [1796032980, "-Inf"],
                        [1796033040, "0.5"],
                    ],
                },
                {"metric": {"instance": "only-nan"}, "values": [[1796032800, "NaN"]]},
                {"metric": {"instance": "native"}, "histograms": [[1796032800, {}]]},
            ],
        },
    }

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        requests.append(
            {
                "form": {key: str(value) for key, value in form.items()},
                "authorization": request.headers.get("Authorization"),
                "path": request.path,
            }
        )
        return web.json_response(answer)

    app = web.Application()
    app.router.add_post("/prom/api/v1/query_range", handle)
    server = await aiohttp_server(app, host=LOOPBACK)
    return server, requests


async def test_the_request_and_what_is_kept_of_the_answer(
    recording_server: tuple[TestServer, list[dict[str, Any]]],
) -> None:
    server, requests = recording_server
    base = str(server.make_url("/prom/"))  # a trailing slash is fine
    async with aiohttp.ClientSession() as session:
        result = await query_range(
            session, base, 'up{job="x"} > 1', START, END, timeout=2.5, bearer_token="s3cret"
        )
    (request,) = requests
    assert request["path"] == "/prom/api/v1/query_range"
    assert request["authorization"] == "Bearer s3cret"
    assert request["form"] == {
        "query": 'up{job="x"} > 1',
        "start": f"{START.timestamp():.3f}",
        "end": f"{END.timestamp():.3f}",
        "step": "1",
        "timeout": "2.5",
    }
    # NaN and ±Inf are dropped; a series with nothing finite left is dropped too
    (series,) = result.series
    assert series.labels == {"__name__": "up", "instance": "a"}
    assert series.points == [
        (datetime.fromtimestamp(1796032800, UTC), 1.0),
        (datetime.fromtimestamp(1796033040, UTC), 0.5),
    ]
    assert result.warnings == (
        "results truncated due to limit",
        "skipped 1 native histogram series",
    )


async def test_without_a_token_no_authorization_is_sent(
    recording_server: tuple[TestServer, list[dict[str, Any]]],
) -> None:
    server, requests = recording_server
    async with aiohttp.ClientSession() as session:
        await query_range(session, str(server.make_url("/prom")), "up", START, END, timeout=5)
    assert requests[0]["authorization"] is None


async def test_a_bad_url_is_unavailable_not_a_crash() -> None:
    async with aiohttp.ClientSession() as session:
        for base in ("not a url", "http://[::1", "ftp://u:pw@127.0.0.1/", "http://h:port/"):
            with pytest.raises(EvidenceUnavailable) as caught:
                await query_range(session, base, "up", START, END, timeout=1)
            assert "pw" not in caught.value.reason


# -- the step and the arguments ----------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "max_points", "step"),
    [
        (timedelta(minutes=10), 1000, timedelta(seconds=1)),
        (timedelta(hours=1), 1000, timedelta(seconds=5)),  # 3.6s rounded up
        (timedelta(hours=1, minutes=45), 1000, timedelta(seconds=10)),
        (timedelta(hours=6), 1000, timedelta(seconds=30)),
        (timedelta(days=1), 1000, timedelta(minutes=2)),
        (timedelta(hours=1), 2, timedelta(hours=1)),
        (timedelta(days=30), 100, timedelta(days=1)),  # 7.3h: beyond 6h, whole days
        (timedelta(days=300), 100, timedelta(days=4)),
        (timedelta(seconds=1), 1000, timedelta(seconds=1)),
    ],
)
def test_the_step_is_round_and_keeps_within_max_points(
    span: timedelta, max_points: int, step: timedelta
) -> None:
    assert step_for(START, START + span, max_points) == step
    assert span // step + 1 <= max_points


def test_step_for_needs_two_points() -> None:
    with pytest.raises(ValueError, match="max_points"):
        step_for(START, END, 1)


@pytest.mark.parametrize(
    ("start", "end", "options"),
    [
        (START.replace(tzinfo=None), END, {}),
        (END, START, {}),
        (START, START, {}),
        (START, END, {"timeout": 0}),
        (START, END, {"max_series": 0}),
        (START, END, {"max_points": 1}),
    ],
)
async def test_arguments_no_caller_should_pass(
    start: datetime, end: datetime, options: dict[str, Any]
) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError):  # noqa: PT011 - several messages, one kind of bug
            await query_range(
                session, "http://127.0.0.1:1", "up", start, end, **{"timeout": 1, **options}
            )
