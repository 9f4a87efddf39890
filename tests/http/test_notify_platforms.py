"""The per-platform layer: each Message becomes a request the platform accepts.

Requests go to fakes of each endpoint (tests/notify_fakes.py) on loopback, which check
shape and signature by the platforms' documented algorithms; answers come back through
read_answer. Signature vectors were computed with `openssl dgst -sha256 -hmac`, following
the algorithm text of each platform's docs (none publishes a concrete vector).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receiver.config.notify import NotifyEvent
from receiver.notify.message import Message
from receiver.notify.platforms import (
    DEFAULT_RATE_PER_MINUTE,
    ChannelKind,
    Outcome,
    build_request,
    dingtalk,
    feishu,
    read_answer,
    webhook,
    wording,
)
from tests.notify_fakes import Canned, FakePlatform, deliver

ALL = list(ChannelKind)
CHAT = [k for k in ChannelKind if k is not ChannelKind.WEBHOOK]
SIGNED = [ChannelKind.FEISHU, ChannelKind.DINGTALK, ChannelKind.WEBHOOK]
SECRET = "SEC-right-secret-0123456789"
LINK = "https://postmortem.example.com/incidents/4711"
# 14:03 in Shanghai
STARTED = datetime(2026, 11, 26, 6, 3, tzinfo=UTC)
# Invisible or reordering characters no chat line should carry
INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

WORDS = {
    "zh": {
        "title": "支付接口 5xx 升高",
        "ack": "张三",
        "labels": ["严重程度", "服务", "开始时间", "持续时间", "确认人", "查看复盘"],
        "duration": "1小时5分",
        "status": "已恢复",
        "headline": "事故已恢复，复盘草稿已生成",
    },
    "en": {
        "title": "Payments API 5xx rising",
        "ack": "alice",
        "labels": ["Severity", "Service", "Started", "Duration", "Acknowledged by"],
        "duration": "1h 5m",
        "status": "recovered",
        "headline": "Incident recovered; draft written",
    },
}


def make_message(language: str = "zh", **changes: Any) -> Message:
    words = WORDS[language]
    message = Message(
        event=NotifyEvent.DRAFT_WRITTEN,
        language=language,
        incident_id=4711,
        headline=str(words["headline"]),
        title=str(words["title"]),
        severity="P1",
        service="payments-api",
        status="recovered",
        started_at=STARTED,
        zone="Asia/Shanghai",
        duration=timedelta(hours=1, minutes=5),
        acknowledged_by=str(words["ack"]),
        link=LINK,
    )
    return replace(message, **changes)


def strings(data: Any) -> Iterator[str]:
    """Every string in a JSON document: what a platform could show."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from strings(value)


def shown(data: dict[str, Any]) -> str:
    return "\n".join(strings(data))


def marked_up(kind: ChannelKind, data: dict[str, Any]) -> str:
    """The strings the platform parses as markup. Slack's plain_text objects are shown
    as is (no mentions, no links), so alert text may appear there unescaped."""
    if kind is not ChannelKind.SLACK:
        return shown(data)

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            if value.get("type") == "plain_text":
                return
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)
        elif isinstance(value, str):
            yield value

    return "\n".join(walk(data))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client:
        yield client


async def send(
    session: aiohttp.ClientSession,
    fake: FakePlatform,
    message: Message,
    secret: str | None = SECRET,
    now: datetime | None = None,
) -> Outcome:
    request = build_request(fake.kind, fake.url, secret, message, now or datetime.now(UTC))
    return await deliver(session, fake.kind, request)


# -- delivered, signed, and saying everything -------------------------------------------


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("kind", ALL)
async def test_each_platform_accepts_a_signed_message_with_every_fact(
    session: aiohttp.ClientSession, kind: ChannelKind, language: str
) -> None:
    message = make_message(language)
    async with FakePlatform(kind, secret=SECRET) as fake:
        outcome = await send(session, fake, message)

    assert outcome.ok, (outcome, fake.refused)
    assert outcome.retry_after is None
    assert fake.refused == []
    [received] = fake.received
    if kind is ChannelKind.WEBHOOK:
        # data for machines: the message itself, unchanged
        assert received.json == {
            "version": 1,
            "event": "draft_written",
            "incident": message.to_json(),
        }
        return
    text = shown(received.json)
    words = WORDS[language]
    for expected in [
        words["title"],
        words["ack"],
        words["duration"],
        words["status"],
        words["headline"],
        "P1",
        "payments-api",
        "2026-11-26 14:03 CST",
        "#4711",
        LINK,
        *words["labels"],
    ]:
        assert str(expected) in text, (expected, text)
    other = WORDS["en" if language == "zh" else "zh"]
    assert str(other["labels"][0]) not in text  # one language, not both


@pytest.mark.parametrize("kind", SIGNED)
async def test_signature_is_what_the_fake_verified(
    session: aiohttp.ClientSession, kind: ChannelKind
) -> None:
    """The fake accepted a signature it recomputed; make sure one was really sent."""
    async with FakePlatform(kind, secret=SECRET) as fake:
        assert (await send(session, fake, make_message())).ok
    [received] = fake.received
    if kind is ChannelKind.FEISHU:
        assert received.json["timestamp"].isdigit()
        assert received.json["sign"]
    elif kind is ChannelKind.DINGTALK:
        assert set(received.query) == {"access_token", "timestamp", "sign"}
    else:
        assert received.headers["X-Postmortem-Signature"].startswith("sha256=")


@pytest.mark.parametrize("kind", SIGNED)
async def test_unsigned_when_the_channel_has_no_secret(
    session: aiohttp.ClientSession, kind: ChannelKind
) -> None:
    async with FakePlatform(kind) as fake:
        assert (await send(session, fake, make_message(), secret=None)).ok
    [received] = fake.received
    assert "sign" not in received.json
    assert "sign" not in received.query
    assert "X-Postmortem-Signature" not in received.headers


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("kind", CHAT)
async def test_unacknowledged_ongoing_and_without_a_link(
    session: aiohttp.ClientSession, kind: ChannelKind, language: str
) -> None:
    message = make_message(language, acknowledged_by=None, duration=None, link=None)
    async with FakePlatform(kind, secret=SECRET) as fake:
        assert (await send(session, fake, message)).ok
    text = shown(fake.received[0].json)
    words = wording.labels(language)
    assert words.not_yet in text
    assert words.ongoing in text
    assert "RECEIVER_PUBLIC_URL" in text
    assert words.open_review not in text  # no button or link to nowhere


@pytest.mark.parametrize("kind", CHAT)
async def test_a_link_that_is_not_http_is_not_offered(
    session: aiohttp.ClientSession, kind: ChannelKind
) -> None:
    message = make_message(link="javascript:alert(1)")
    async with FakePlatform(kind) as fake:
        assert (await send(session, fake, message, secret=None)).ok
    text = shown(fake.received[0].json)
    assert "javascript" not in text
    assert "RECEIVER_PUBLIC_URL" in text


def test_feishu_header_colour_follows_severity() -> None:
    colours = {}
    for severity in ("P0", "P1", "P2", "P3", "unknown"):
        request = build_request(
            ChannelKind.FEISHU, "http://127.0.0.1/h", None, make_message(severity=severity), STARTED
        )
        colours[severity] = json.loads(request.body)["card"]["header"]["template"]
    assert colours == {"P0": "red", "P1": "orange", "P2": "yellow", "P3": "blue", "unknown": "grey"}


# -- wrong secrets and stale timestamps are refused -------------------------------------


@pytest.mark.parametrize("secret", ["SEC-wrong-secret", None])
@pytest.mark.parametrize("kind", SIGNED)
async def test_wrong_or_missing_secret_is_refused_and_reported(
    session: aiohttp.ClientSession, kind: ChannelKind, secret: str | None
) -> None:
    async with FakePlatform(kind, secret=SECRET) as fake:
        outcome = await send(session, fake, make_message(), secret=secret)
        url = fake.url

    assert not outcome.ok
    assert outcome.retry_after is None
    assert fake.received == []
    assert fake.refused == ["signature"]
    expected = {ChannelKind.FEISHU: "19021", ChannelKind.DINGTALK: "310000"}
    assert expected.get(kind, "HTTP 401") in outcome.detail
    assert fake.token not in outcome.detail
    assert url not in outcome.detail
    assert SECRET not in outcome.detail
    assert "SEC-wrong" not in outcome.detail


@pytest.mark.parametrize("kind", SIGNED)
async def test_a_signature_made_hours_ago_is_refused(
    session: aiohttp.ClientSession, kind: ChannelKind
) -> None:
    """The timestamp is signed and checked: a request cannot be replayed hours later."""
    async with FakePlatform(kind, secret=SECRET) as fake:
        stale = await send(
            session, fake, make_message(), now=datetime.now(UTC) - timedelta(hours=2)
        )
        fresh = await send(session, fake, make_message())
    assert not stale.ok
    assert fresh.ok
    assert fake.refused == ["signature"]


# -- published algorithms, pinned vectors -----------------------------------------------


def test_feishu_signature_vector() -> None:
    # openssl dgst -sha256 -mac HMAC -macopt hexkey:<hex of "1599360473\nSEC-demo-feishu">
    # over empty input, Base64 (1599360473 is the timestamp in Feishu's own example)
    assert (
        feishu.sign(1599360473, "SEC-demo-feishu") == "iIsZKpqnEO9DsIe1Zp5tV/TL6CpharHWW/MOMcMHKv0="
    )
    request = build_request(
        ChannelKind.FEISHU,
        "https://open.feishu.cn/open-apis/bot/v2/hook/x",
        "SEC-demo-feishu",
        make_message(),
        datetime.fromtimestamp(1599360473, UTC),
    )
    body = json.loads(request.body)
    assert body["timestamp"] == "1599360473"
    assert body["sign"] == "iIsZKpqnEO9DsIe1Zp5tV/TL6CpharHWW/MOMcMHKv0="
    assert request.url == "https://open.feishu.cn/open-apis/bot/v2/hook/x"


def test_dingtalk_signature_vector() -> None:
    # printf '1577262236757\nthis is secret' | openssl dgst -sha256 -hmac 'this is secret'
    # -binary | base64, then URL-encoded ("this is secret" is the docs' example secret)
    sign = "hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D"
    assert dingtalk.sign(1577262236757, "this is secret") == sign
    request = build_request(
        ChannelKind.DINGTALK,
        "https://oapi.dingtalk.com/robot/send?access_token=abc",
        "this is secret",
        make_message(),
        datetime.fromtimestamp(1577262236.757, UTC),
    )
    assert request.url == (
        f"https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1577262236757&sign={sign}"
    )


def test_webhook_signature_vector() -> None:
    # printf '1795732480.{"version":1}' | openssl dgst -sha256 -hmac 'whsec-demo'
    assert webhook.signature("whsec-demo", 1795732480, b'{"version":1}') == (
        "sha256=1ee80fd33b076ac4c45854b2e1c11e279af51addf71d1b7a1f1116fe59d22059"
    )
    request = build_request(
        ChannelKind.WEBHOOK, "https://hooks.example/x", "whsec-demo", make_message(), STARTED
    )
    timestamp = request.headers["X-Postmortem-Timestamp"]
    assert timestamp == str(int(STARTED.timestamp()))
    assert request.headers["X-Postmortem-Signature"] == webhook.signature(
        "whsec-demo", int(timestamp), request.body
    )
    assert request.headers["Content-Type"].startswith("application/json")


# -- hostile text -----------------------------------------------------------------------

HOSTILE = (
    "**bold** [click](http://evil.example) <at id=all></at> <!channel> <@all> "
    "<font color='red'>x</font> # head\n> quote `code` _u_ ~s~ | \\ "
    "\u202eRTL-override\u2066isolate\u2069 \x00\x07\x1b[31m \u200bzero-width "
)


@pytest.mark.parametrize("kind", ALL)
async def test_hostile_text_is_escaped_and_cut(
    session: aiohttp.ClientSession, kind: ChannelKind
) -> None:
    message = make_message(
        title=HOSTILE + "A" * 10_000,
        service=HOSTILE,
        acknowledged_by=HOSTILE,
        headline=HOSTILE + "H" * 10_000,
    )
    async with FakePlatform(kind, secret=SECRET) as fake:
        assert (await send(session, fake, message)).ok, fake.refused
    [received] = fake.received

    if kind is ChannelKind.WEBHOOK:  # data: passed through whole, escaped by JSON only
        assert received.json["incident"]["title"] == message.title
        return
    assert not INVISIBLE.search(shown(received.json))
    text = marked_up(kind, received.json)
    assert "A" * 200 not in shown(received.json)
    assert "H" * 200 not in shown(received.json)
    assert "…" in text  # cut, visibly
    assert len(received.body) < 12_000
    assert "<at" not in text
    assert "<!channel>" not in text
    assert "<@all>" not in text
    assert "<font color='red'>" not in text

    if kind in (ChannelKind.DINGTALK, ChannelKind.WECOM):
        body = received.json["markdown"].get("text") or received.json["markdown"]["content"]
        assert r"\*\*bold\*\* \[click\]\(http://evil.example\)" in body
        assert "＜at id=all＞" in body
        assert "＜@all＞" in body
        assert r"\`code\` \_u\_ \~s\~ \| \\" in body
        # the hostile line break did not start a quote or heading
        assert "\n> quote" not in body
        assert "\n# head" not in body
        if kind is ChannelKind.WECOM:
            assert len(body.encode()) <= 4096
    elif kind is ChannelKind.FEISHU:
        md = [e for e in strings(received.json["card"]["elements"]) if "bold" in e]
        assert md
        assert all("**bold**" not in e and "[click](" not in e for e in md)
        assert any("&#60;at id=all&#62;" in e for e in md)
        assert len(received.json["card"]["header"]["title"]["content"]) <= wording.TITLE_MAX
    else:
        assert "&lt;!channel&gt;" in text
        assert "&lt;@all&gt;" in text
        header = received.json["blocks"][0]["text"]["text"]
        assert len(header) <= 150


@pytest.mark.parametrize("heavy", ["𝕏" * 5000, "𝕏*" * 5000, "<" * 5000])
@pytest.mark.parametrize("kind", CHAT)
async def test_huge_multibyte_text_stays_within_platform_limits(
    session: aiohttp.ClientSession, kind: ChannelKind, heavy: str
) -> None:
    """4-byte characters and escapes in every field still fit WeCom's 4096 bytes (the
    alert's own words are cut shorter) and Feishu's 20 KB, and the fakes accept them."""
    message = make_message(
        title=heavy,
        headline=heavy,
        service=heavy,
        acknowledged_by=heavy,
        severity=heavy,
        status=heavy,
        link=LINK + "?" + "x" * 500,
    )
    async with FakePlatform(kind) as fake:
        request = build_request(kind, fake.url, None, message, datetime.now(UTC))
        assert (await deliver(session, kind, request)).ok, fake.refused
    assert len(request.body) < 20_000
    text = shown(fake.received[0].json)
    assert LINK in text  # the way to the review page survives the cutting
    if kind is ChannelKind.WECOM:
        content = fake.received[0].json["markdown"]["content"]
        assert 3500 < len(content.encode()) <= 4096


# -- answers ----------------------------------------------------------------------------

RATE_LIMITED = {
    ChannelKind.FEISHU: 60.0,
    ChannelKind.DINGTALK: 600.0,  # DingTalk throttles for 10 minutes
    ChannelKind.WECOM: 60.0,
    ChannelKind.SLACK: 7.0,  # the fake's Retry-After
    ChannelKind.WEBHOOK: 7.0,
}


@pytest.mark.parametrize("kind", ALL)
async def test_rate_limited_answers_carry_retry_after(
    session: aiohttp.ClientSession, kind: ChannelKind
) -> None:
    async with FakePlatform(kind, secret=SECRET) as fake:
        fake.script("rate_limited")
        limited = await send(session, fake, make_message())
        after = await send(session, fake, make_message())
    assert not limited.ok
    assert limited.retry_after == RATE_LIMITED[kind]
    assert after.ok
    assert len(fake.received) == 1


async def test_feishu_too_many_requests_is_rate_limited_but_bad_request_is_not(
    session: aiohttp.ClientSession,
) -> None:
    async with FakePlatform(ChannelKind.FEISHU) as fake:
        fake.script("too_many", Canned.json({"code": 9499, "msg": "Bad Request"}, 400))
        too_many = await send(session, fake, make_message(), secret=None)
        bad = await send(session, fake, make_message(), secret=None)
    assert too_many.retry_after == 60.0
    assert "9499" in too_many.detail
    assert not bad.ok
    assert bad.retry_after is None


@pytest.mark.parametrize("answer", ["500", "error"])
@pytest.mark.parametrize("kind", ALL)
async def test_errors_fail_without_retry_after_and_without_secrets(
    session: aiohttp.ClientSession, kind: ChannelKind, answer: str
) -> None:
    async with FakePlatform(kind, secret=SECRET) as fake:
        fake.script(answer)
        outcome = await send(session, fake, make_message())
        url = fake.url
    assert not outcome.ok
    assert outcome.retry_after is None
    assert outcome.detail.startswith(kind.value)
    assert fake.token not in outcome.detail
    assert url not in outcome.detail
    assert SECRET not in outcome.detail
    if answer == "error":  # the platform's own code or words are kept for the operator
        codes = {
            ChannelKind.FEISHU: "19024",
            ChannelKind.DINGTALK: "310000",
            ChannelKind.WECOM: "40008",
            ChannelKind.SLACK: "channel_is_archived",
            ChannelKind.WEBHOOK: "422",
        }
        assert codes[kind] in outcome.detail


@pytest.mark.parametrize("kind", CHAT)
async def test_a_wrong_token_is_a_failure(
    session: aiohttp.ClientSession, kind: ChannelKind
) -> None:
    async with FakePlatform(kind) as fake:
        url = fake.url.replace(fake.token, "0" * 32)
        request = build_request(kind, url, None, make_message(), datetime.now(UTC))
        outcome = await deliver(session, kind, request)
    assert not outcome.ok
    assert fake.refused in (["unknown path"], ["wrong token"])
    assert fake.received == []


@pytest.mark.parametrize(
    "answer",
    [
        (200, b"", {}),
        (200, b"\xff\xfe\x00garbage", {}),
        (200, b"null", {}),
        (200, b"[0]", {}),
        (200, b'{"code": "0", "errcode": "0", "StatusCode": "0"}', {}),
        (200, b'{"code": true, "errcode": false}', {}),
        (200, b"[" * 100_000 + b"]" * 100_000, {}),
        (200, b'{"code": 0, "errcode": 0', {}),
        (200, b"ok\n" + b"x" * 1000, {}),
        (429, b"\x00\x1b[31m", {"Retry-After": "soon"}),
        (429, b"", {"Retry-After": "nan"}),
        (429, b"", {"retry-after": "-5"}),
        (599, "\u202e<script>".encode() * 1000, {}),
        (-1, b"{}", {}),
    ],
)
@pytest.mark.parametrize("kind", ALL)
def test_read_answer_on_garbage(
    kind: ChannelKind, answer: tuple[int, bytes, dict[str, str]]
) -> None:
    status, body, headers = answer
    outcome = read_answer(kind, status, body, headers)
    if kind is ChannelKind.WEBHOOK and 200 <= status < 300:
        assert outcome.ok  # any 2xx is delivered, whatever the body
    else:
        assert not outcome.ok
    assert not INVISIBLE.search(outcome.detail)
    assert len(outcome.detail) < 300
    if status == 429:
        assert outcome.retry_after is not None
        assert 0 <= outcome.retry_after <= 3600


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(ALL),
    status=st.integers(min_value=-1, max_value=1000),
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["code", "errcode", "msg", "errmsg", "StatusCode"]) | st.text(),
                    inner,
                    max_size=4,
                )
            ),
            max_leaves=12,
        ).map(lambda value: json.dumps(value).encode()),
    ),
    headers=st.dictionaries(st.sampled_from(["Retry-After", "retry-after", "X"]), st.text()),
)
def test_read_answer_never_raises(
    kind: ChannelKind, status: int, body: bytes, headers: dict[str, str]
) -> None:
    outcome = read_answer(kind, status, body, headers)
    assert isinstance(outcome, Outcome)
    assert isinstance(outcome.detail, str)
    assert outcome.retry_after is None or 0 <= outcome.retry_after <= 3600


def test_retry_after_reads_an_http_date() -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=120)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    outcome = read_answer(ChannelKind.SLACK, 429, b"rate_limited", {"Retry-After": soon})
    assert outcome.retry_after is not None
    assert 100 <= outcome.retry_after <= 120


def test_read_answer_turns_a_parser_bug_into_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """The contract holds even if a platform module's reader has a bug."""

    def broken(status: int, body: bytes, headers: Mapping[str, str]) -> Outcome:
        raise KeyError("code")

    monkeypatch.setattr(feishu, "read", broken)
    outcome = read_answer(ChannelKind.FEISHU, 200, b'{"code":0}', {})
    assert not outcome.ok
    assert "KeyError" in outcome.detail


def test_legacy_feishu_status_code_is_understood() -> None:
    assert read_answer(
        ChannelKind.FEISHU, 200, b'{"StatusCode":0,"StatusMessage":"success"}', {}
    ).ok
    failed = read_answer(ChannelKind.FEISHU, 200, b'{"StatusCode":19001,"StatusMessage":"bad"}', {})
    assert not failed.ok
    assert "19001" in failed.detail


# -- the fakes refuse what the platforms refuse -----------------------------------------


@pytest.mark.parametrize("kind", ALL)
async def test_fakes_refuse_malformed_requests(
    session: aiohttp.ClientSession, kind: ChannelKind
) -> None:
    async with FakePlatform(kind) as fake:
        async with session.post(fake.url, data=b"{}", headers={"Content-Type": "text/plain"}):
            pass
        async with session.post(fake.url, json={"msgtype": "bogus", "msg_type": "bogus"}):
            pass
        async with session.get(fake.url):
            pass
    assert fake.received == []
    assert len(fake.refused) == 3


# -- words ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "zh", "en"),
    [
        (0.3, "不足1分钟", "<1m"),
        (45, "45分", "45m"),
        (65, "1小时5分", "1h 5m"),
        (120, "2小时", "2h"),
        (26 * 60 + 3, "1天2小时3分", "1d 2h 3m"),
    ],
)
def test_durations_read_naturally(minutes: float, zh: str, en: str) -> None:
    assert wording.span(timedelta(minutes=minutes), "zh") == zh
    assert wording.span(timedelta(minutes=minutes), "en") == en


def test_start_is_shown_in_the_configured_zone() -> None:
    assert wording.started(make_message()) == "2026-11-26 14:03 CST"
    assert wording.started(make_message(zone="America/New_York")) == "2026-11-26 01:03 EST"
    assert wording.started(make_message(zone="Not/AZone")) == "2026-11-26 06:03 UTC"


def test_default_rates_are_the_documented_limits() -> None:
    assert DEFAULT_RATE_PER_MINUTE == {
        ChannelKind.FEISHU: 100,
        ChannelKind.DINGTALK: 20,
        ChannelKind.WECOM: 20,
        ChannelKind.SLACK: 60,
        ChannelKind.WEBHOOK: 600,
    }
