"""Fakes of the chat platforms' webhook endpoints, served on 127.0.0.1 only.

Each fake checks what the real endpoint checks — POST, a JSON content type, the message
shape, the token in the URL and, when given a secret, the signature by the platform's
documented algorithm (implemented here independently of receiver.notify.platforms) — and
answers the way the platform does. It records every accepted message, and can be
scripted to give canned answers ("500", "error", "rate_limited", or any `Canned`) first.

    async with FakePlatform(ChannelKind.FEISHU, secret="s3cret") as fake:
        fake.script("rate_limited")
        ...post to fake.url...
        assert fake.received[0].json["msg_type"] == "interactive"

The app (`fake.app`) can also be served by any other means, e.g. pytest-aiohttp's
`aiohttp_server`; then set `fake.base` to its URL.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from receiver.notify.platforms import ChannelKind, Outcome, OutgoingRequest, read_answer


@dataclass(frozen=True, slots=True)
class Canned:
    """One answer as the platform would give it."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: dict[str, Any], status: int = 200) -> Canned:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    @classmethod
    def text(cls, text: str, status: int, **headers: str) -> Canned:
        return cls(status, text.encode(), {"Content-Type": "text/plain", **headers})

    def response(self) -> web.Response:
        return web.Response(status=self.status, body=self.body, headers=dict(self.headers))


@dataclass(frozen=True, slots=True)
class Received:
    """An accepted message."""

    json: dict[str, Any]
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes


Problem = str | None  # why the request is refused; None when it is fine
Verify = Callable[[web.Request, bytes, dict[str, Any], str, float], Canned | None]


@dataclass(frozen=True, slots=True)
class Spec:
    """What one platform's endpoint accepts and how it answers."""

    path: str  # with "{token}" where the URL's path carries the credential
    token_query: str | None  # the query parameter carrying it instead
    shape: Callable[[dict[str, Any]], Problem]
    verify: Verify | None  # only when the fake has a secret
    ok: Canned
    bad_token: Canned
    bad_request: Callable[[str], Canned]
    canned: Mapping[str, Canned]  # "error", "rate_limited", "500"


# -- shape checks: the keys the platforms require ---------------------------------------


def _str(data: Any, *keys: str) -> bool:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return isinstance(data, str) and bool(data)


def _feishu_shape(data: dict[str, Any]) -> Problem:
    kind = data.get("msg_type")
    if kind == "interactive":
        card = data.get("card")
        if not isinstance(card, dict) or not isinstance(card.get("elements"), list):
            return "interactive without card.elements"
        if "header" in card and not _str(card, "header", "title", "content"):
            return "card header without title"
        return None
    if kind == "text":
        return None if _str(data, "content", "text") else "text without content.text"
    return f"unsupported msg_type {kind!r}"


def _dingtalk_shape(data: dict[str, Any]) -> Problem:
    kind = data.get("msgtype")
    if kind == "markdown":
        ok = _str(data, "markdown", "title") and _str(data, "markdown", "text")
        return None if ok else "markdown needs title and text"
    if kind == "text":
        return None if _str(data, "text", "content") else "text without content"
    return f"unsupported msgtype {kind!r}"


def _wecom_shape(data: dict[str, Any]) -> Problem:
    kind = data.get("msgtype")
    if kind not in ("markdown", "text"):
        return f"unsupported msgtype {kind!r}"
    if not _str(data, kind, "content"):
        return f"{kind} without content"
    size = len(data[kind]["content"].encode())
    limit = 4096 if kind == "markdown" else 2048
    return None if size <= limit else f"{kind}.content exceed max length {limit}"


def _slack_shape(data: dict[str, Any]) -> Problem:
    blocks = data.get("blocks")
    if not _str(data, "text") and not blocks:
        return "no_text"
    for block in blocks or []:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return "invalid_blocks"
        if block["type"] == "header" and len(block.get("text", {}).get("text", "")) > 150:
            return "invalid_blocks"  # Slack: header text must be at most 150 characters
        if len(block.get("fields", [])) > 10:
            return "invalid_blocks"
    return None


def _webhook_shape(data: dict[str, Any]) -> Problem:
    incident = data.get("incident")
    if data.get("version") != 1 or not _str(data, "event") or not isinstance(incident, dict):
        return "needs version 1, event and incident"
    return None if isinstance(incident.get("incident_id"), int) else "incident without id"


# -- signatures, by each platform's documented algorithm --------------------------------


def _feishu_verify(
    request: web.Request, body: bytes, data: dict[str, Any], secret: str, now: float
) -> Canned | None:
    """Feishu: Base64(HMAC-SHA256(key = timestamp + "\\n" + secret, message = empty));
    the timestamp (seconds) within an hour."""
    refused = Canned.json(
        {
            "code": 19021,
            "data": {},
            "msg": "sign match fail or timestamp is not within one hour from current time",
        }
    )
    timestamp, sign = data.get("timestamp"), data.get("sign")
    if not isinstance(timestamp, str) or not timestamp.isdigit() or not isinstance(sign, str):
        return refused
    if abs(now - int(timestamp)) > 3600:
        return refused
    key = f"{timestamp}\n{secret}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    return None if hmac.compare_digest(expected, sign) else refused


def _dingtalk_verify(
    request: web.Request, body: bytes, data: dict[str, Any], secret: str, now: float
) -> Canned | None:
    """DingTalk: sign = urlEncode(Base64(HMAC-SHA256(key = secret,
    message = timestamp + "\\n" + secret))) in the query; timestamp (ms) within an hour.
    The query arrives URL-decoded, so it must equal the plain Base64."""
    timestamp, sign = request.query.get("timestamp", ""), request.query.get("sign")
    if not timestamp.isdigit() or sign is None:
        return Canned.json({"errcode": 310000, "errmsg": "sign not match"})
    if abs(now * 1000 - int(timestamp)) > 3600 * 1000:
        return Canned.json({"errcode": 310000, "errmsg": "invalid timestamp"})
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    expected = base64.b64encode(mac.digest()).decode()
    if hmac.compare_digest(expected, sign):
        return None
    return Canned.json({"errcode": 310000, "errmsg": "sign not match"})


def _webhook_verify(
    request: web.Request, body: bytes, data: dict[str, Any], secret: str, now: float
) -> Canned | None:
    """Ours (receiver/notify/platforms/webhook.py's docstring): sha256= hex HMAC-SHA256
    of "<timestamp>." + raw body, keyed with the secret; timestamp within 5 minutes."""
    timestamp = request.headers.get("X-Postmortem-Timestamp", "")
    signature = request.headers.get("X-Postmortem-Signature", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > 300:
        return Canned.text("stale or missing timestamp", 401)
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    if hmac.compare_digest(f"sha256={mac.hexdigest()}", signature):
        return None
    return Canned.text("bad signature", 401)


SPECS: Mapping[ChannelKind, Spec] = {
    ChannelKind.FEISHU: Spec(
        path="/open-apis/bot/v2/hook/{token}",
        token_query=None,
        shape=_feishu_shape,
        verify=_feishu_verify,
        ok=Canned.json(
            {
                "StatusCode": 0,
                "StatusMessage": "success",
                "code": 0,
                "data": {},
                "msg": "success",
            }
        ),
        bad_token=Canned.json(
            {
                "code": 19001,
                "data": {},
                "msg": "param invalid: incoming webhook access token invalid",
            }
        ),
        bad_request=lambda why: Canned.json({"code": 9499, "data": {}, "msg": "Bad Request"}, 400),
        canned={
            "error": Canned.json({"code": 19024, "msg": "Key Words Not Found"}),
            "rate_limited": Canned.json(
                {"code": 11232, "data": {}, "msg": "frequency limited psm[lark.oapi.app]"}
            ),
            "too_many": Canned.json({"code": 9499, "data": {}, "msg": "too many request"}, 400),
            "500": Canned.text("Internal Server Error", 500),
        },
    ),
    ChannelKind.DINGTALK: Spec(
        path="/robot/send",
        token_query="access_token",
        shape=_dingtalk_shape,
        verify=_dingtalk_verify,
        ok=Canned.json({"errcode": 0, "errmsg": "ok"}),
        bad_token=Canned.json({"errcode": 300001, "errmsg": "token is not exist"}),
        bad_request=lambda why: Canned.json({"errcode": 40035, "errmsg": f"缺少参数 {why}"}),
        canned={
            "error": Canned.json({"errcode": 310000, "errmsg": "keywords not in content"}),
            "rate_limited": Canned.json(
                {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
            ),
            "500": Canned.text("<html>502 Bad Gateway</html>", 500),
        },
    ),
    ChannelKind.WECOM: Spec(
        path="/cgi-bin/webhook/send",
        token_query="key",
        shape=_wecom_shape,
        verify=None,  # WeCom's group robots have no signature: the key is the credential
        ok=Canned.json({"errcode": 0, "errmsg": "ok"}),
        bad_token=Canned.json({"errcode": 93000, "errmsg": "invalid webhook url"}),
        bad_request=lambda why: Canned.json({"errcode": 40058, "errmsg": why}),
        canned={
            "error": Canned.json({"errcode": 40008, "errmsg": "invalid message type"}),
            "rate_limited": Canned.json({"errcode": 45009, "errmsg": "api freq out of limit"}),
            "500": Canned.text("Internal Server Error", 500),
        },
    ),
    ChannelKind.SLACK: Spec(
        path="/services/T0000/B0000/{token}",
        token_query=None,
        shape=_slack_shape,
        verify=None,  # incoming webhooks are not signed: the URL is the credential
        ok=Canned.text("ok", 200),
        bad_token=Canned.text("no_service", 404),
        bad_request=lambda why: Canned.text(why, 400),
        canned={
            "error": Canned.text("channel_is_archived", 410),
            "rate_limited": Canned.text("rate_limited", 429, **{"Retry-After": "7"}),
            "500": Canned.text("rollup_error", 500),
        },
    ),
    ChannelKind.WEBHOOK: Spec(
        path="/hooks/{token}",
        token_query=None,
        shape=_webhook_shape,
        verify=_webhook_verify,
        ok=Canned.json({"accepted": True}),
        bad_token=Canned.text("not found", 404),
        bad_request=lambda why: Canned.text(why, 400),
        canned={
            "error": Canned.text("unprocessable", 422),
            "rate_limited": Canned.text("slow down", 429, **{"Retry-After": "7"}),
            "500": Canned.text("Internal Server Error", 500),
        },
    ),
}


class FakePlatform:
    """One platform endpoint with one channel (one token); see the module docstring."""

    def __init__(
        self,
        kind: ChannelKind,
        secret: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kind = kind
        self.spec = SPECS[kind]
        self.secret = secret
        self.clock = clock
        self.token = uuid.uuid4().hex
        self.received: list[Received] = []
        self.refused: list[str] = []  # why each refused request was refused
        self.requests = 0
        self._arrived = asyncio.Event()  # set by each accepted message
        self._script: deque[Canned] = deque()
        self._server: TestServer | None = None
        self.base: URL | None = None
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._handle)

    @property
    def url(self) -> str:
        """The channel's webhook URL, token included, as an operator would configure it."""
        if self.base is None:
            raise RuntimeError("the fake is not serving yet")
        url = self.base.with_path(self.spec.path.format(token=self.token))
        if self.spec.token_query:
            url = url.with_query({self.spec.token_query: self.token})
        return str(url)

    def script(self, *answers: str | Canned) -> None:
        """Answer the next requests with these (by name or as given), then normally."""
        for answer in answers:
            self._script.append(answer if isinstance(answer, Canned) else self.spec.canned[answer])

    async def wait_until(self, done: Callable[[], bool]) -> None:
        """Until `done()` holds, checked after each accepted message: for messages a
        background pass sends (the caller bounds the wait with asyncio.timeout)."""
        while True:
            self._arrived.clear()
            if done():
                return
            await self._arrived.wait()

    async def start(self) -> FakePlatform:
        self._server = TestServer(self.app, host="127.0.0.1")
        await self._server.start_server()
        self.base = self._server.make_url("/")
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> FakePlatform:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _refuse(self, why: str, answer: Canned) -> web.Response:
        self.refused.append(why)
        return answer.response()

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self._script:
            return self._script.popleft().response()
        spec = self.spec
        if request.path != spec.path.format(token=self.token):
            return self._refuse("unknown path", spec.bad_token)
        if spec.token_query and request.query.get(spec.token_query) != self.token:
            return self._refuse("wrong token", spec.bad_token)
        if request.method != "POST":
            return self._refuse(f"method {request.method}", Canned.text("method", 405))
        if request.content_type != "application/json":
            return self._refuse(f"content type {request.content_type}", spec.bad_request("json"))
        body = await request.read()
        try:
            data = json.loads(body.decode("utf-8"))
        except ValueError:
            return self._refuse("not JSON", spec.bad_request("json"))
        if not isinstance(data, dict):
            return self._refuse("not a JSON object", spec.bad_request("json"))
        problem = spec.shape(data)
        if problem is not None:
            return self._refuse(problem, spec.bad_request(problem))
        if self.secret is not None and spec.verify is not None:
            refused = spec.verify(request, body, data, self.secret, self.clock())
            if refused is not None:
                return self._refuse("signature", refused)
        self.received.append(Received(data, dict(request.headers), dict(request.query), body))
        self._arrived.set()
        return spec.ok.response()


async def post(
    session: aiohttp.ClientSession, request: OutgoingRequest
) -> tuple[int, bytes, dict[str, str]]:
    """POST the request as the sender would: status, body and headers of the answer."""
    async with session.post(request.url, data=request.body, headers=request.headers) as answer:
        return answer.status, await answer.read(), dict(answer.headers)


async def deliver(
    session: aiohttp.ClientSession, kind: ChannelKind, request: OutgoingRequest
) -> Outcome:
    status, body, headers = await post(session, request)
    return read_answer(kind, status, body, headers)
