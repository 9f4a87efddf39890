"""Issue 8: bad webhooks. Each gets the right status, and the server stays up and serving.

"A corpus of bad webhooks (wrong types, missing fields, deeply nested JSON, huge label
sets, 10 MB of one annotation, invalid UTF-8, NUL bytes, timestamps with 0–9 fractional
digits, year 1, far future, label names in UTF-8) each gets the right status, and the
server stays up and keeps serving."

Every body is derived from a real Alertmanager capture (firing_single or firing_group_3)
with one thing changed. After each request, accepted or not: GET /healthz answers 200, a
good webhook is still accepted, and a rejected request stored nothing (the incident count
is unchanged). Every 4xx body is JSON with "error" and "message".

The statuses decided here:
- wrong types and missing required fields: 422 "invalid_webhook", naming the field (in
  "details" and in "message"). A timestamp must be an RFC 3339 string: a JSON number is a
  wrong type, not seconds since 1970; a boolean is not a count.
- not JSON at all (broken UTF-8, a raw NUL byte, NaN, nesting or a number beyond what the
  parser takes): 400 "malformed".
- a lone UTF-16 surrogate escape ("\\ud800") in a JSON string: accepted and stored with
  U+FFFD, like an escaped NUL (no UTF-8 encodes it; before, it answered 500 or 503).
- over RECEIVER_MAX_BODY (8 MiB by default): 413 "too_large".
- \\u0000 inside JSON strings: accepted, stored with U+FFFD (PostgreSQL text holds no NUL).
- fractional seconds of 0 to 9 digits: accepted; kept to the microsecond, the digits
  beyond the sixth dropped (truncated, never rounded up past the real moment).
- year 1 is Go's zero time: as startsAt it is refused (422), as endsAt it means "no end".
- a time outside the accepted span (1970-01-01T00:00:00Z up to 9000-01-01T00:00:00Z in UTC):
  422 naming the field and the span, year 9999 included; the far future inside it
  (year 8999) is accepted, firing and resolved. tests/http/test_hostile_times.py checks every
  offset and what the pages, drafts, CLI and chat messages make of such times.
- a huge label set (10,000 labels on one alert): 422 naming alerts.0.labels, over
  RECEIVER_MAX_LABELS (200 by default); under a limit raised past it, stored whole.
- 10 MB in one annotation: 413 over RECEIVER_MAX_BODY (8 MiB by default). Under
  RECEIVER_MAX_BODY=16MiB alone it is 422 naming the annotation, over
  RECEIVER_MAX_VALUE_LENGTH (16,384 characters by default); with that limit raised too,
  it is stored whole.

The reconciler is off (RECEIVER_RECONCILE_INTERVAL=0): the captures' externalURL would
send it to another host, and its rows would make the stored state depend on timing.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from receiver.app import create_app
from receiver.config import Settings
from tests.conftest import as_group, capture
from tests.inbox import applied

Client = TestClient[Any, Any]
ClientFactory = Callable[[web.Application], Awaitable[Client]]
Body = dict[str, Any]
JSON = {"Content-Type": "application/json"}
MIB = 1024 * 1024
FFFD = "\ufffd"


# -- bodies ------------------------------------------------------------------------------


def variant(name: str, tag: str) -> Body:
    """The capture as another alert group would send it: its own service and fingerprints.

    Only identifiers change (the service in groupKey, groupLabels, commonLabels and each
    alert's labels; the last four hex digits of each fingerprint), so that every accepted
    body opens its own incident.
    """
    return as_group(capture(name), tag)


def group3(tag: str = "case") -> Body:
    return variant("firing_group_3", tag)


def single(tag: str = "case") -> Body:
    return variant("firing_single", tag)


def encode(body: Body) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def mutated(make: Callable[[], Body], change: Callable[[Body], object]) -> Callable[[], bytes]:
    def build() -> bytes:
        body = make()
        change(body)
        return encode(body)

    return build


def raw_replace(make: Callable[[], Body], old: str, new: bytes) -> Callable[[], bytes]:
    """The encoded body with the first occurrence of a piece of its JSON text replaced."""

    def build() -> bytes:
        raw = encode(make())
        assert old.encode() in raw, old
        return raw.replace(old.encode(), new, 1)

    return build


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# -- the in-process receiver -------------------------------------------------------------


@pytest.fixture
async def client(aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]) -> Client:
    return await aiohttp_client(create_app(make_settings(reconcile_interval="0")))


async def post(client: Client, body: bytes, **headers: str) -> tuple[int, Any]:
    # a BytesIO, not bytes: aiohttp warns about (and blocks on) large raw bodies
    response = await client.post(
        "/api/v1/alerts", data=io.BytesIO(body), headers={**JSON, **headers}
    )
    text = await response.text()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


async def incident_count(client: Client) -> int:
    response = await client.get("/api/v1/incidents")
    assert response.status == 200, await response.text()
    return int((await response.json())["total"])


async def incident(client: Client, incident_id: int) -> Any:
    response = await client.get(f"/api/v1/incidents/{incident_id}")
    assert response.status == 200, f"GET incident {incident_id}: {response.status}"
    return await response.json()


async def still_serving(client: Client, stored: int) -> None:
    """Health 200, exactly `stored` incidents, and a good webhook still accepted."""
    assert (await client.get("/healthz")).status == 200
    assert await incident_count(client) == stored
    status, answer = await post(client, encode(single(f"good-after-{stored}")))
    assert status == 202, answer
    assert (await applied(client, answer))["created"] is True
    assert await incident_count(client) == stored + 1


def assert_error(status: int, answer: Any, expected: int, code: str) -> None:
    assert status == expected, answer
    assert isinstance(answer, dict), f"not a JSON object: {answer!r}"
    assert answer["error"] == code, answer
    assert isinstance(answer["message"], str)
    assert answer["message"], answer


async def accept(client: Client, body: bytes) -> Any:
    """Post a body that must open one new incident; return that incident as the API shows it."""
    before = await incident_count(client)
    status, answer = await post(client, body)
    assert status == 202, answer
    result = await applied(client, answer)
    assert result["created"] is True
    assert await incident_count(client) == before + 1
    detail = await incident(client, result["incident_id"])
    await still_serving(client, before + 1)
    return detail


# -- rejected: every case leaves nothing behind ------------------------------------------


@dataclass(frozen=True)
class Rejected:
    name: str
    build: Callable[[], bytes]
    status: int
    code: str
    field: str | None = None  # for a 422: the field its message and details name


def _set(path: str, value: Any) -> Callable[[Body], object]:
    """Set body[a][b]...= value for a dotted path (list indexes as numbers)."""

    def change(body: Body) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


def _drop(path: str) -> Callable[[Body], object]:
    def change(body: Body) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        del target[last]

    return change


def _wrong(path: str, value: Any, make: Callable[[], Body] = group3) -> Rejected:
    return Rejected(
        f"wrong type {path}={value!r}",
        mutated(make, _set(path, value)),
        422,
        "invalid_webhook",
        path,
    )


def _missing(path: str, make: Callable[[], Body] = group3) -> Rejected:
    return Rejected(f"missing {path}", mutated(make, _drop(path)), 422, "invalid_webhook", path)


REJECTED: list[Rejected] = [
    # wrong types
    _wrong("version", 4),
    _wrong("receiver", 1),
    _wrong("receiver", None, single),
    _wrong("status", True),
    _wrong("status", "pending", single),
    _wrong("alerts", "firing"),
    _wrong("alerts.1", "an alert"),
    _wrong("alerts.0.status", ["firing"]),
    _wrong("alerts.0.labels", [["alertname", "HighLatencyP99"]]),
    _wrong("alerts.2.labels.severity", 3),
    _wrong("alerts.0.labels.instance", None, single),
    _wrong("alerts.0.labels.job", {"name": "payments-api"}),
    _wrong("alerts.0.annotations", "payments P99 延迟过高"),
    _wrong("alerts.0.annotations.summary", 2.3, single),
    _wrong("alerts.1.startsAt", "yesterday"),
    _wrong("alerts.0.startsAt", "2026-11-26"),
    _wrong("alerts.0.startsAt", "2026-11-26T19:11:48.595"),  # no time zone
    _wrong("alerts.0.startsAt", None),
    _wrong("alerts.0.startsAt", 1795720308, single),  # seconds since 1970, not RFC 3339
    _wrong("alerts.0.endsAt", 0, single),  # not "no end": not a timestamp at all
    _wrong("alerts.0.endsAt", "soon"),
    _wrong("alerts.0.fingerprint", 0x9794415232A8F006),
    _wrong("alerts.0.fingerprint", ""),
    _wrong("alerts.0.generatorURL", None),
    _wrong("groupKey", 1),
    _wrong("groupKey", ""),
    _wrong("groupLabels", ["alertname", "service"]),
    _wrong("commonLabels", "alertname=HighLatencyP99"),
    _wrong("externalURL", False),
    _wrong("truncatedAlerts", -1),
    _wrong("truncatedAlerts", 1.5),
    _wrong("truncatedAlerts", True),
    # missing required fields
    _missing("version"),
    _missing("receiver"),
    _missing("status", single),
    _missing("alerts"),
    _missing("groupKey"),
    _missing("alerts.0.status"),
    _missing("alerts.1.labels"),
    _missing("alerts.2.startsAt"),
    _missing("alerts.0.fingerprint", single),
    # the shape of the webhook
    Rejected(
        "empty alerts list", mutated(group3, _set("alerts", [])), 422, "invalid_webhook", "alerts"
    ),
    Rejected(
        "alerts as an object",
        mutated(group3, lambda b: b.update(alerts={str(i): a for i, a in enumerate(b["alerts"])})),
        422,
        "invalid_webhook",
        "alerts",
    ),
    Rejected("version 3", mutated(group3, _set("version", "3")), 422, "invalid_webhook", "version"),
    Rejected(
        "body is the alerts array",
        lambda: json.dumps(group3()["alerts"]).encode(),
        422,
        "invalid_webhook",
    ),
    Rejected("body is null", lambda: b"null", 422, "invalid_webhook"),
    Rejected(
        "body is a string",
        lambda: json.dumps(json.dumps(group3())).encode(),
        422,
        "invalid_webhook",
    ),
    # year 1 and past year 9999
    Rejected(
        "year-1 startsAt (Go's zero time)",
        mutated(group3, _set("alerts.0.startsAt", "0001-01-01T00:00:00Z")),
        422,
        "invalid_webhook",
        "alerts.0.startsAt",
    ),
    Rejected(
        "startsAt past year 9999 in UTC",
        mutated(single, _set("alerts.0.startsAt", "9999-12-31T23:59:59-08:00")),
        422,
        "invalid_webhook",
        "alerts.0.startsAt",
    ),
    Rejected(
        "endsAt past year 9999 in UTC",
        mutated(single, _set("alerts.0.endsAt", "9999-12-31T23:59:59-08:00")),
        422,
        "invalid_webhook",
        "alerts.0.endsAt",
    ),
    Rejected(
        "year 10000",
        mutated(single, _set("alerts.0.startsAt", "10000-01-01T00:00:00Z")),
        422,
        "invalid_webhook",
        "alerts.0.startsAt",
    ),
    # deeply nested JSON
    Rejected("100k nested arrays", lambda: nested(100_000), 400, "malformed"),
    Rejected(
        "100k nested arrays in an annotation",
        raw_replace(
            group3,
            '"runbook_url": "https://runbooks.example.com/payments/high-latency"}',
            b'"deep": ' + nested(100_000) + b"}",
        ),
        400,
        "malformed",
    ),
    Rejected(
        "500 nested arrays as a label value",
        mutated(single, _set("alerts.0.labels.instance", json.loads(nested(500)))),
        422,
        "invalid_webhook",
        "alerts.0.labels.instance",
    ),
    # invalid UTF-8, and escapes that are not Unicode
    Rejected(
        "0xff in a label value",
        raw_replace(single, "checkout-api", b"checkout\xff-api"),
        400,
        "malformed",
    ),
    Rejected(
        "overlong '/' (0xc0 0xaf)",
        raw_replace(single, "/runbooks", b"\xc0\xafrunbooks"),
        400,
        "malformed",
    ),
    Rejected(
        "UTF-8 of a surrogate (0xed 0xa0 0x80)",
        raw_replace(single, '"summary": "checkout', b'"summary": "\xed\xa0\x80checkout'),
        400,
        "malformed",
    ),
    Rejected(
        "truncated multi-byte sequence",
        lambda: encode(single())[:-2] + b"\xe6\x9c",
        400,
        "malformed",
    ),
    Rejected("body in UTF-16", lambda: json.dumps(single()).encode("utf-16"), 400, "malformed"),
    # raw NUL bytes (escaped ones are accepted: see below)
    Rejected(
        "raw NUL in a string",
        raw_replace(single, "checkout-api", b"checkout\x00-api"),
        400,
        "malformed",
    ),
    Rejected(
        "raw NUL between tokens",
        raw_replace(single, '"version": "4"', b'"version":\x00"4"'),
        400,
        "malformed",
    ),
    Rejected("raw NUL after the body", lambda: encode(single()) + b"\x00", 400, "malformed"),
    # numbers JSON does not have, or the parser cannot take
    Rejected(
        "NaN (not JSON) in an unknown field",
        raw_replace(single, '"truncatedAlerts": 0', b'"truncatedAlerts": 0, "ratio": NaN'),
        400,
        "malformed",
    ),
    Rejected(
        "Infinity (not JSON) as truncatedAlerts",
        raw_replace(single, '"truncatedAlerts": 0', b'"truncatedAlerts": Infinity'),
        400,
        "malformed",
    ),
    Rejected(
        "a 5,000-digit integer",
        raw_replace(single, '"truncatedAlerts": 0', b'"truncatedAlerts": ' + b"9" * 5000),
        400,
        "malformed",
    ),
]


@pytest.mark.parametrize("case", REJECTED, ids=[case.name for case in REJECTED])
async def test_rejected_and_nothing_stored(client: Client, case: Rejected) -> None:
    assert await incident_count(client) == 0
    status, answer = await post(client, case.build())
    assert_error(status, answer, case.status, case.code)
    if case.field is not None:
        fields = [detail["field"] for detail in answer.get("details", [])]
        assert case.field in fields, answer
        assert f" {case.field}: " in answer["message"], answer
    assert await incident_count(client) == 0
    await still_serving(client, 0)


def test_the_rejected_corpus_is_derived_and_distinct() -> None:
    """Each case changes the capture it starts from (no case posts a good webhook)."""
    bodies = [case.build() for case in REJECTED]
    good = {encode(single()), encode(group3())}
    assert not good & set(bodies)
    assert len(set(bodies)) == len(bodies)


# -- over the size limit, and the same body under a larger one ---------------------------


CJK_DESCRIPTION = "延迟" * (10 * MIB // 6 + 1)  # 6 bytes of UTF-8 each: just over 10 MiB


def ten_mib_annotation() -> bytes:
    body = group3("big")
    body["alerts"][1]["annotations"]["description"] = CJK_DESCRIPTION
    raw = encode(body)
    assert 10 * MIB < len(raw) < 10 * MIB + 8192
    return raw


def ten_mb_ascii_annotation() -> bytes:
    body = group3("big-ascii")
    body["alerts"][0]["annotations"]["description"] = "x" * (10 * 1000 * 1000)
    raw = encode(body)
    assert 8 * MIB < len(raw) < 16 * MIB
    return raw


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_ten_mb_annotation_is_413_over_the_default_limit(
    client: Client, chunked: bool
) -> None:
    raw = ten_mb_ascii_annotation()
    if chunked:

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(raw), MIB):
                yield raw[start : start + MIB]

        response = await client.post("/api/v1/alerts", data=chunks(), headers=JSON)
    else:
        response = await client.post("/api/v1/alerts", data=io.BytesIO(raw), headers=JSON)
        assert response.request_info.headers["Content-Length"] == str(len(raw))
    answer = await response.json()
    assert_error(response.status, answer, 413, "too_large")
    assert "RECEIVER_MAX_BODY" in answer["message"]
    assert await incident_count(client) == 0
    await still_serving(client, 0)


async def test_ten_mb_annotation_under_a_16mib_body_limit(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    """Within the body limit, the value length limit still refuses it, naming the field."""
    settings = make_settings(max_body="16MiB", reconcile_interval="0")
    assert settings.max_body == 16 * MIB
    client = await aiohttp_client(create_app(settings))
    status, answer = await post(client, ten_mb_ascii_annotation())
    assert_error(status, answer, 422, "invalid_webhook")
    assert [d["field"] for d in answer["details"]] == ["alerts.0.annotations.description"]
    assert "RECEIVER_MAX_VALUE_LENGTH" in answer["message"]
    assert await incident_count(client) == 0
    await still_serving(client, 0)


async def test_ten_mb_annotation_is_stored_under_raised_limits(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(max_body="16MiB", max_value_length=16 * MIB, reconcile_interval="0")
    client = await aiohttp_client(create_app(settings))
    for raw, index, expected in (
        (ten_mb_ascii_annotation(), 0, "x" * (10 * 1000 * 1000)),
        (ten_mib_annotation(), 1, CJK_DESCRIPTION),
    ):
        sent = json.loads(raw)["alerts"][index]
        detail = await accept(client, raw)
        stored = next(a for a in detail["alerts"] if a["fingerprint"] == sent["fingerprint"])
        assert stored["annotations"]["description"] == expected


# -- accepted: stored as sent, or as documented -------------------------------------------


def huge_label_set() -> Body:
    body = group3("labels")
    extra = {f"label_{i:05d}": f"value-{i}-{'v' * 20}" for i in range(10_000)}
    body["alerts"][0]["labels"].update(extra)
    return body


async def test_huge_label_set_is_refused_over_the_label_limit(client: Client) -> None:
    status, answer = await post(client, encode(huge_label_set()))
    assert_error(status, answer, 422, "invalid_webhook")
    assert [d["field"] for d in answer["details"]] == ["alerts.0.labels"]
    assert " alerts.0.labels: " in answer["message"]
    assert "RECEIVER_MAX_LABELS" in answer["message"]
    assert await incident_count(client) == 0
    await still_serving(client, 0)


async def test_huge_label_set_is_stored_under_a_raised_label_limit(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(max_labels=20_000, reconcile_interval="0")
    client = await aiohttp_client(create_app(settings))
    body = huge_label_set()
    detail = await accept(client, encode(body))
    by_print = {a["fingerprint"]: a for a in detail["alerts"]}
    stored = by_print[body["alerts"][0]["fingerprint"]]["labels"]
    assert len(stored) == 10_000 + 6
    assert stored == body["alerts"][0]["labels"]


async def test_nul_escapes_are_stored_as_replacement_characters(client: Client) -> None:
    body = group3("nul")
    body["groupKey"] += "\x00"
    first = body["alerts"][0]
    first["labels"]["host\x00name"] = "vm\x00-1"
    first["annotations"]["summary"] = "payments P99 延迟过高\x00 (10.0.2.11)"
    first["fingerprint"] = first["fingerprint"][:-1] + "\x00"
    raw = encode(body)
    assert b"\\u0000" in raw  # JSON escapes,
    assert b"\x00" not in raw  # no raw NUL byte
    detail = await accept(client, raw)
    assert detail["group_key"] == body["groupKey"].replace("\x00", FFFD)
    assert "\x00" not in json.dumps(detail, ensure_ascii=False)
    alert = next(a for a in detail["alerts"] if a["fingerprint"].endswith(FFFD))
    assert alert["fingerprint"] == first["fingerprint"].replace("\x00", FFFD)
    assert alert["labels"][f"host{FFFD}name"] == f"vm{FFFD}-1"
    assert alert["annotations"]["summary"] == f"payments P99 延迟过高{FFFD} (10.0.2.11)"


async def test_lone_surrogate_escapes_are_stored_as_replacement_characters(
    client: Client,
) -> None:
    body = group3("surrogate")
    first = body["alerts"][0]
    first["labels"]["\udc00host"] = "vm-\udfff"
    first["annotations"]["summary"] = "\ud800payments"
    body["groupLabels"]["service"] += "\udfff"
    raw = json.dumps(body).encode()  # ensure_ascii: the surrogates travel as \\uXXXX escapes
    assert b"\\ud800" in raw
    detail = await accept(client, raw)
    alert = detail["alerts"][0]
    assert alert["labels"][f"{FFFD}host"] == f"vm-{FFFD}"
    assert alert["annotations"]["summary"] == f"{FFFD}payments"
    assert detail["group_labels"]["service"].endswith(FFFD)


FRACTIONS = "123456789"


@pytest.mark.parametrize("digits", range(10))
async def test_fractional_seconds_of_0_to_9_digits(client: Client, digits: int) -> None:
    fraction = f".{FRACTIONS[:digits]}" if digits else ""
    starts_at = f"2026-11-26T19:11:48{fraction}Z"
    body = group3(f"fraction-{digits}")
    for alert in body["alerts"]:
        alert["startsAt"] = starts_at
    detail = await accept(client, encode(body))
    micro = FRACTIONS[: min(digits, 6)].ljust(6, "0")
    expected = f"2026-11-26T19:11:48.{micro}Z" if digits else "2026-11-26T19:11:48Z"
    assert {a["starts_at"] for a in detail["alerts"]} == {expected}
    assert detail["started_at"] == expected
    fired = [row for row in detail["timeline"] if row["kind"] == "alert_fired"]
    assert {row["at"] for row in fired} == {expected}


@pytest.mark.parametrize(
    ("sent", "utc"),
    [
        ("2026-11-27T03:11:48.595+08:00", "2026-11-26T19:11:48.595000Z"),
        ("2026-11-26T15:41:48.595-03:30", "2026-11-26T19:11:48.595000Z"),
        ("2026-11-26T19:11:48.595+00:00", "2026-11-26T19:11:48.595000Z"),
        ("2026-11-27T00:00:00.5+04:48", "2026-11-26T19:12:00.500000Z"),
    ],
)
async def test_time_zone_offsets_are_normalized_to_utc(client: Client, sent: str, utc: str) -> None:
    body = single(f"offset-{sent}")
    body["alerts"][0]["startsAt"] = sent
    detail = await accept(client, encode(body))
    assert detail["alerts"][0]["starts_at"] == utc
    assert detail["started_at"] == utc


async def test_year_1_ends_at_means_no_end(client: Client) -> None:
    body = group3("never-ends")
    assert {a["endsAt"] for a in body["alerts"]} == {"0001-01-01T00:00:00Z"}
    body["alerts"][2]["endsAt"] = "0001-01-01T00:00:00.000000000Z"
    detail = await accept(client, encode(body))
    assert detail["status"] == "firing"
    assert detail["ended_at"] is None
    assert [(a["status"], a["ends_at"]) for a in detail["alerts"]] == [("firing", None)] * 3


@pytest.mark.parametrize(
    "starts_at",
    [
        "8999-06-30T12:00:00Z",
        "8999-10-15T00:00:00Z",
        "8999-12-01T00:00:00Z",
        "8999-12-31T23:59:59.999999Z",
    ],
)
async def test_far_future_is_accepted_firing_and_resolved(client: Client, starts_at: str) -> None:
    body = group3("far-future")
    for alert in body["alerts"]:
        alert["startsAt"] = starts_at
    detail = await accept(client, encode(body))
    assert {a["starts_at"] for a in detail["alerts"]} == {starts_at}
    assert detail["status"] == "firing"

    # the same group resolves, as Alertmanager sends it: endsAt at or after startsAt
    resolved = copy.deepcopy(body)
    resolved["status"] = "resolved"
    for alert in resolved["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "8999-12-31T23:59:59.999999Z"
    status, answer = await post(client, encode(resolved))
    assert status == 202, answer
    assert (await applied(client, answer))["incident_id"] == detail["id"]
    after = await incident(client, detail["id"])
    assert after["status"] == "drafted"
    assert after["ended_at"] == "8999-12-31T23:59:59.999999Z"
    await still_serving(client, 2)  # this incident and the good one accept() sent


async def test_utf8_label_names_round_trip(client: Client) -> None:
    body = group3("unicode")
    body["groupLabels"]["服务"] = "支付"
    body["commonLabels"]["服务"] = "支付"
    body["commonLabels"]["团队 🚨"] = "Zahlungsverkehr ä"
    for alert in body["alerts"]:
        alert["labels"]["服务"] = "支付"
        alert["labels"]["团队 🚨"] = "Zahlungsverkehr ä"
        alert["annotations"]["说明"] = "延迟 ≥ 1s"
    detail = await accept(client, encode(body))
    assert detail["group_labels"] == body["groupLabels"]
    assert len(detail["alerts"]) == 3
    by_print = {a["fingerprint"]: a for a in detail["alerts"]}
    for alert in body["alerts"]:
        stored = by_print[alert["fingerprint"]]
        assert stored["labels"] == alert["labels"]
        assert stored["annotations"] == alert["annotations"]


async def test_unknown_fields_are_ignored(client: Client) -> None:
    body = single("extra")
    body["extra"] = {"nested": [1, 2, {"deep": None}], "flag": True}
    body["alerts"][0]["silencedBy"] = ["c0ffee"]
    body["alerts"][0]["inhibitedBy"] = []
    body["alerts"][0]["receivers"] = [{"name": "incident-webhook"}]
    detail = await accept(client, encode(body))
    assert detail["alerts"][0]["labels"] == body["alerts"][0]["labels"]
