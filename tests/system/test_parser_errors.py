"""Issue 15: every body aiohttp cannot read gets a JSON 4xx, from every route that reads
one; aiohttp's own 400s (request line or header too long, a broken chunk) are JSON too.

A real `serve` process per backend. The routes are the app's own: every POST, PUT, PATCH
and DELETE route of its router, so a new route is covered without a new test. Each bad
body of the table goes to each route over a raw socket (an HTTP client library would
refuse to send most of them), with the API's token and a logged-in page session, so that
the request reaches the point where its body is read. After the table: nothing was
stored, nothing was logged as a failure of the receiver, and it still serves.

The statuses decided here:
- 400 "malformed": a broken chunk or compressed stream, invalid UTF-8 in a form, a
  multipart body that cannot be split (no boundary, a wrong one, a part header line too
  long, too many part headers, a nested multipart, a part in an unknown transfer
  encoding, a body cut short).
- 400 "bad_request" or "line_too_long": what aiohttp refuses before any route runs (a
  request line or header over 8190 bytes, a broken chunk in the first packet).
- 408 "body_timeout": a body that stops arriving, after RECEIVER_BODY_READ_TIMEOUT.
- 413 "too_large": over RECEIVER_MAX_BODY (declared, or found while reading a chunked or
  gzip body), or more form fields than aiohttp reads.
- 415 "unsupported_media_type": a charset Python does not know, of the body or a part.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from receiver.app import create_app
from receiver.config import load_settings
from receiver.web.body import BODY_METHODS
from tests.conftest import capture
from tests.inbox import applied
from tests.processes import AUTH, LOOPBACK, TOKEN, Service, log_tail, start_receiver

MAX_BODY = 64 * 1024
BODY_TIMEOUT = 0.5
# how long any answer may take: a body timeout and then some; without one it never comes
ANSWER_WITHIN = 10.0
CONCURRENT = 8
BOUNDARY = b"XyZ"


@dataclass(frozen=True)
class Case:
    name: str
    content_type: bytes
    body: bytes
    statuses: tuple[int, ...]
    codes: tuple[str, ...]
    headers: bytes = b""
    # "length": with a Content-Length; "chunked": the body is the chunks; "chunks later":
    # the same, sent after the headers; "trickle": half the body, and then nothing
    framing: str = "length"


def multipart(*parts: bytes, boundary: bytes = BOUNDARY) -> bytes:
    delimiter = b"--" + boundary
    return b"".join(delimiter + b"\r\n" + part for part in parts) + delimiter + b"--\r\n"


FIELD = b'Content-Disposition: form-data; name="message"\r\n'
FORM = b"application/x-www-form-urlencoded"
MULTIPART = b"multipart/form-data; boundary=" + BOUNDARY
MALFORMED = ((400,), ("malformed",))
WEBHOOK = json.dumps(capture("firing_single")).encode()

CASES = [
    Case("gzip that is not gzip", b"application/json", b"not gzip at all", *MALFORMED,
         headers=b"Content-Encoding: gzip\r\n"),
    Case("deflate that is not deflate", FORM, b"message=x", *MALFORMED,
         headers=b"Content-Encoding: deflate\r\n"),
    Case("gzip that inflates past the limit", b"application/json",
         gzip.compress(b" " * (4 * MAX_BODY)), (413,), ("too_large",),
         headers=b"Content-Encoding: gzip\r\n"),
    Case("declared length over the limit", b"application/json", b"{}", (413,), ("too_large",),
         headers=b"Content-Length: %d\r\n" % (MAX_BODY + 1)),
    Case("chunked body over the limit", b"application/json",
         b"%x\r\n" % (MAX_BODY + 1) + b" " * (MAX_BODY + 1) + b"\r\n0\r\n\r\n",
         (413,), ("too_large",), framing="chunked"),
    Case("chunk size that is not hex", b"application/json", b"zz\r\nabc\r\n0\r\n\r\n",
         (400,), ("bad_request",), framing="chunked"),
    Case("chunk longer than its size", FORM, b"3\r\nmessage=x\r\n0\r\n\r\n",
         (400,), ("bad_request",), framing="chunked"),
    Case("form in an unknown charset", FORM + b"; charset=no-such-codec", b"message=x",
         (415,), ("unsupported_media_type",)),
    Case("form that is not UTF-8", FORM, b"message=\xff\xfe", *MALFORMED),
    Case("form with more fields than aiohttp reads", FORM,
         b"&".join(b"f%d=1" % i for i in range(1001)), (413,), ("too_large",)),
    Case("multipart without a boundary", b"multipart/form-data",
         multipart(FIELD + b"\r\nx\r\n"), *MALFORMED),
    Case("multipart with another boundary", MULTIPART,
         multipart(FIELD + b"\r\nx\r\n", boundary=b"Other"), *MALFORMED),
    Case("multipart part header line too long", MULTIPART,
         multipart(FIELD + b"X-Long: " + b"a" * 9000 + b"\r\n\r\nx\r\n"), *MALFORMED),
    Case("multipart part with too many headers", MULTIPART,
         multipart(FIELD + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\nx\r\n"),
         *MALFORMED),
    Case("multipart part header without a colon", MULTIPART,
         multipart(b"Content-Disposition form-data\r\n\r\nx\r\n"), *MALFORMED),
    Case("multipart part in an unknown transfer encoding", MULTIPART,
         multipart(FIELD + b"Content-Transfer-Encoding: rot13\r\n\r\nx\r\n"), *MALFORMED),
    Case("multipart part in an unknown charset", MULTIPART,
         multipart(FIELD + b"Content-Type: text/plain; charset=no-such-codec\r\n\r\nx\r\n"),
         (415,), ("unsupported_media_type",)),
    Case("multipart part that is not UTF-8", MULTIPART,
         multipart(FIELD + b"\r\n\xff\xfe\r\n"), *MALFORMED),
    Case("multipart nested in multipart", MULTIPART,
         multipart(FIELD + b"Content-Type: multipart/mixed; boundary=In\r\n\r\n"
                   b"--In\r\n\r\nx\r\n--In--\r\n\r\n"), *MALFORMED),
    Case("multipart cut short", MULTIPART, b"--" + BOUNDARY + b"\r\n" + FIELD + b"\r\nxx",
         *MALFORMED),
    Case("body that stops arriving", b"application/json", WEBHOOK, (408,), ("body_timeout",),
         framing="trickle"),
    # the C parser reports a chunk broken after the headers were handled to nobody: the
    # body timeout ends it (the pure-Python parser answers 400 at once)
    Case("chunk broken after the headers", b"application/json", b"5\r\n{\"a\":\r\nzz\r\n",
         (400, 408), ("bad_request", "malformed", "body_timeout"), framing="chunks later"),
]  # fmt: skip


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def exchange(port: int, first: bytes, rest: bytes = b"") -> Answer:
    """Send `first`, then (once the server has had it) `rest`, and read one answer."""
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        writer.write(first)
        await writer.drain()
        if rest:
            await asyncio.sleep(0.05)  # only to split the packets: either order is checked
            writer.write(rest)
            await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Answer(status, headers, body)
    finally:
        writer.close()


def request_bytes(method: str, path: str, case: Case, credentials: bytes) -> tuple[bytes, bytes]:
    """The request as the first packet and what follows (only a trickle has more)."""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {LOOPBACK}\r\n".encode()
        + credentials
        + b"Content-Type: "
        + case.content_type
        + b"\r\n"
        + case.headers
    )
    if case.framing == "chunked":
        return head + b"Transfer-Encoding: chunked\r\n\r\n" + case.body, b""
    if case.framing == "chunks later":
        return head + b"Transfer-Encoding: chunked\r\n\r\n", case.body
    declared = b"Content-Length" in case.headers
    length = b"" if declared else b"Content-Length: %d\r\n" % len(case.body)
    if case.framing == "trickle":  # half the body now, the rest never
        return head + length + b"\r\n" + case.body[: len(case.body) // 2], b""
    return head + length + b"\r\n" + case.body, b""


def body_routes(incident_id: int) -> list[tuple[str, str]]:
    """(method, path) of every route that reads a body, from the app's own router."""
    settings = load_settings(database_url="sqlite:///unused.db", drafts_dir="")
    routes = []
    for route in create_app(settings).router.routes():
        if route.method in BODY_METHODS and route.resource is not None:
            path = re.sub(r"\{[^}]+\}", str(incident_id), route.resource.canonical)
            routes.append((route.method, path))
    return sorted(set(routes))


async def log_in(http: aiohttp.ClientSession, base_url: str) -> bytes:
    """The Cookie header of a logged-in page session."""
    page = await (await http.get(f"{base_url}/login")).text()
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    form = {"csrf_token": match.group(1), "name": "tester", "secret": TOKEN, "next": "/"}
    done = await http.post(f"{base_url}/login", data=form, allow_redirects=False)
    assert done.status == 303, await done.text()
    cookies = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
    return f"Cookie: {cookies}\r\n".encode()


@pytest.fixture
def receiver(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Service:
    service, _ = start_receiver(
        request,
        tmp_path,
        database_url=database_url,
        extra_env={
            "RECEIVER_MAX_BODY": str(MAX_BODY),
            "RECEIVER_BODY_READ_TIMEOUT": f"{BODY_TIMEOUT}s",
            "RECEIVER_RECONCILE_INTERVAL": "0",
        },
    )
    return service


async def test_every_bad_body_to_every_route_is_a_json_4xx(receiver: Service) -> None:
    port = int(receiver.base_url.rsplit(":", 1)[1])
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for an IP address
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        seeded = await http.post(
            f"{receiver.base_url}/api/v1/alerts",
            json=capture("firing_single"),
            headers=AUTH,
        )
        assert seeded.status == 202, await seeded.text()
        result = await applied(http, await seeded.json(), base=receiver.base_url, headers=AUTH)
        incident_id = result["incident_id"]
        bearer = f"Authorization: {AUTH['Authorization']}\r\n".encode()
        credentials = bearer + await log_in(http, receiver.base_url)

    routes = body_routes(incident_id)
    assert ("POST", "/login") in routes
    assert ("POST", "/api/v1/alerts") in routes
    assert any(method == "PATCH" for method, _ in routes)
    limit = asyncio.Semaphore(CONCURRENT)

    async def check(method: str, path: str, case: Case) -> str | None:
        async with limit:
            first, rest = request_bytes(method, path, case, credentials)
            try:
                async with asyncio.timeout(ANSWER_WITHIN):
                    answer = await exchange(port, first, rest)
            except TimeoutError:
                return f"{method} {path} {case.name}: no answer in {ANSWER_WITHIN}s"
        where = f"{method} {path} {case.name}: {answer.status} {answer.body[:200]!r}"
        if answer.status not in case.statuses:
            return f"{where}; expected {case.statuses}"
        if not answer.headers.get("content-type", "").startswith("application/json"):
            return f"{where}; not JSON"
        error = answer.json()
        if error.get("error") not in case.codes or not error.get("message"):
            return f"{where}; expected an error in {case.codes} with a message"
        return None

    outcomes = await asyncio.gather(
        *(check(method, path, case) for method, path in routes for case in CASES)
    )
    problems = [outcome for outcome in outcomes if outcome]
    assert not problems, "\n".join(problems) + "\n" + log_tail(receiver.log_path)

    async with aiohttp.ClientSession(headers=AUTH) as http:
        assert (await http.get(f"{receiver.base_url}/healthz")).status == 200
        listed = await (await http.get(f"{receiver.base_url}/api/v1/incidents")).json()
        assert listed["total"] == 1  # the seed: no bad body stored anything
    log = receiver.log_path.read_text(encoding="utf-8")
    assert '"request.failed"' not in log
    assert '"http.failed"' not in log


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("name", "raw", "code"),
    [
        (
            "request line over 8190 bytes",
            b"GET /api/v1/incidents?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            "line_too_long",
        ),
        (
            "header over 8190 bytes",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n",
            "line_too_long",
        ),
        ("a method with a control byte", b"G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n", "bad_request"),
        ("no HTTP at all", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "bad_request"),
        (
            "Content-Length with Transfer-Encoding",
            b"POST /api/v1/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            "bad_request",
        ),
        (
            "a Content-Length past 2^64",
            b"POST /api/v1/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999"
            b"\r\n\r\n",
            "bad_request",
        ),
    ],
)
async def test_what_aiohttp_refuses_before_any_route_is_json(
    receiver: Service, name: str, raw: bytes, code: str
) -> None:
    port = int(receiver.base_url.rsplit(":", 1)[1])
    async with asyncio.timeout(ANSWER_WITHIN):
        answer = await exchange(port, raw)
    assert answer.status == 400, name
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()
    assert error["error"] == code
    assert error["message"].startswith("the request cannot be parsed: ")
    async with aiohttp.ClientSession() as http:
        assert (await http.get(f"{receiver.base_url}/healthz")).status == 200


def test_the_table_names_each_case_once() -> None:
    names = [case.name for case in CASES]
    assert len(set(names)) == len(names)
