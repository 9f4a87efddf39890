"""scripts/alert-webhook.sh run for real, with dash, against a running receiver.

Most tests serve the app in this process on a real loopback port (on SQLite and on
PostgreSQL) and run the script as a subprocess; one runs `python -m receiver serve`.
The script gets an environment of its own: PATH (for dash and curl), a locale, and the
RECEIVER_* variables each test sets, nothing else from this process.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from receiver.app import create_app
from receiver.config import Settings
from receiver.domain.events import EventType
from receiver.postmortem.filters import md_inline
from tests.conftest import REPO, capture
from tests.inbox import applied, wait_applied
from tests.processes import free_port, start_receiver

SCRIPT = REPO / "scripts" / "alert-webhook.sh"
TOKEN = "script-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ServerFactory = Callable[..., Awaitable[TestServer]]

# What each TYPE becomes in the timeline, written out here rather than read from the
# receiver: (kind, phase).
ROWS: dict[str, tuple[str, str]] = {
    "system-alert": ("manual_alert", "detect"),
    "ack": ("ack", "detect"),
    "assemble": ("assemble", "detect"),
    "restart": ("restart", "handle"),
    "rollback": ("rollback", "handle"),
    "scale": ("scale", "handle"),
    "root-cause": ("root_cause", "handle"),
    "mitigate": ("mitigate", "handle"),
    "fix": ("fix", "handle"),
    "verify": ("verify", "recover"),
    "monitor-ok": ("monitor_ok", "recover"),
    "notify-users": ("notify_users", "recover"),
    "resolve": ("resolve", "recover"),
    "note": ("note", "handle"),
}
MEANINGS = {
    "system-alert": "打开事故",
    "ack": "事故确认",
    "assemble": "响应团队召集",
    "restart": "重启",
    "rollback": "回滚",
    "scale": "扩容",
    "root-cause": "根因分析",
    "mitigate": "临时修复",
    "fix": "永久修复",
    "verify": "功能验证",
    "monitor-ok": "监控确认",
    "notify-users": "用户通知",
    "resolve": "事故结束",
    "note": "备注",
}


def dash() -> str:
    """Debian's /bin/sh: the shell the script must work in. Missing dash fails the test."""
    found = shutil.which("dash")
    if found is None:
        pytest.fail("these tests run the script with dash (Debian: apt install dash)")
    return found


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    seconds: float


def script_env(base_url: str, **extra: str | None) -> dict[str, str]:
    """PATH and a locale from here, the receiver's address and token, then `extra`
    (None removes a variable)."""
    env = {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "RECEIVER_URL": base_url,
        "RECEIVER_TOKEN": TOKEN,
        "RECEIVER_ACTOR": "张三",
    }
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _finish(process_args: list[str], code: int, out: bytes, err: bytes, started: float) -> Run:
    run = Run(code, out.decode("utf-8"), err.decode("utf-8"), time.monotonic() - started)
    print(f"$ {process_args}\nexit {run.code} after {run.seconds:.2f}s\n{run.out}{run.err}")
    return run


def run_sync(*args: str, env: dict[str, str], direct: bool = False) -> Run:
    """The script as a subprocess, for a receiver that is not in this event loop; `direct`
    runs it by its #! line, as the runbooks do."""
    argv = [str(SCRIPT), *args] if direct else [dash(), str(SCRIPT), *args]
    started = time.monotonic()
    done = subprocess.run(
        argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=90, check=False
    )
    return _finish(argv, done.returncode, done.stdout, done.stderr, started)


async def run(*args: str, env: dict[str, str]) -> Run:
    """The script as a subprocess while this event loop serves the receiver."""
    argv = [dash(), str(SCRIPT), *args]
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{argv} did not finish within 90 s")
    assert process.returncode is not None
    return _finish(argv, process.returncode, out, err, started)


async def within_one_minute() -> None:
    """The default idempotency key holds for the current UTC minute: when a test repeats
    a call, start it early in a minute so that both calls fall in the same one."""
    second = datetime.now(UTC).second
    if second >= 50:
        await asyncio.sleep(60.5 - second)


@dataclass(frozen=True)
class Receiver:
    server: TestServer
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def env(self, **extra: str | None) -> dict[str, str]:
        return script_env(self.url, **extra)

    async def get(self, path: str) -> Any:
        async with self.http.get(self.url + path, headers=AUTH) as response:
            assert response.status == 200, f"GET {path}: {response.status}"
            return await response.json()

    async def text(self, path: str) -> str:
        async with self.http.get(self.url + path, headers=AUTH) as response:
            assert response.status == 200, f"GET {path}: {response.status}"
            return await response.text()

    async def manual_rows(self, incident_id: int) -> list[dict[str, Any]]:
        """The rows people's events made (not 'incident opened', not alerts)."""
        detail = await self.get(f"/api/v1/incidents/{incident_id}")
        return [
            row
            for row in detail["timeline"]
            if row["source"] == "manual" and row["kind"] != "incident_opened"
        ]

    async def incident_total(self) -> int:
        return int((await self.get("/api/v1/incidents"))["total"])


@pytest.fixture
async def receiver(
    aiohttp_server: ServerFactory, make_settings: Callable[..., Settings]
) -> AsyncIterator[Receiver]:
    """The app with a token, on a real port of 127.0.0.1, on SQLite or PostgreSQL."""
    server = await aiohttp_server(create_app(make_settings(auth_token=TOKEN)), host="127.0.0.1")
    http = aiohttp.ClientSession()
    try:
        yield Receiver(server, http)
    finally:
        await http.close()


def recorded(receiver: Receiver, incident_id: int, status: str = "recorded") -> str:
    return f"incident #{incident_id} {status} {receiver.url}/incidents/{incident_id}\n"


# -- the script itself ---------------------------------------------------------------


def test_script_is_executable_posix_sh() -> None:
    assert SCRIPT.read_text(encoding="utf-8").startswith("#!/bin/sh\n")
    assert os.access(SCRIPT, os.X_OK), "chmod +x scripts/alert-webhook.sh"
    check = subprocess.run(
        [dash(), "-n", str(SCRIPT)], capture_output=True, text=True, timeout=10, check=False
    )
    assert check.returncode == 0, check.stderr


def test_help_lists_every_type_with_its_meaning_and_the_environment() -> None:
    for flag in ("--help", "-h"):
        result = run_sync(flag, env=script_env("http://127.0.0.1:9"))
        assert result.code == 0
        assert result.err == ""
        listed = {
            line.split()[0]: line
            for line in result.out.splitlines()
            if line.startswith("  ") and line.split()[0] in MEANINGS
        }
        assert set(listed) == {t.value for t in EventType} == set(ROWS)
        for name, meaning in MEANINGS.items():
            assert meaning in listed[name], name
        for variable in ("RECEIVER_URL", "RECEIVER_TOKEN", "RECEIVER_ACTOR"):
            assert variable in result.out
        for option in ("--incident", "--actor", "--idempotency-key"):
            assert option in result.out


BAD_USAGE = [
    ("no arguments", []),
    ("three arguments", ["ack", "payments", "critical"]),
    ("six arguments", ["ack", "payments", "critical", "m", "d", "extra"]),
    ("unknown long option", ["--bogus", "ack", "payments", "critical", "m"]),
    ("unknown short option", ["-x", "ack", "payments", "critical", "m"]),
    ("option without its value", ["--incident"]),
    ("options after TYPE are arguments", ["ack", "--incident", "3", "payments", "critical", "m"]),
]


@pytest.mark.parametrize("args", [case[1] for case in BAD_USAGE], ids=[c[0] for c in BAD_USAGE])
def test_bad_arguments_exit_2_with_usage_and_send_nothing(args: list[str]) -> None:
    # nothing listens on the port: had the script tried to send, it would exit 3
    result = run_sync(*args, env=script_env(f"http://127.0.0.1:{free_port()}"))
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("alert-webhook.sh: ")
    assert "Usage: alert-webhook.sh [options] TYPE SERVICE SEVERITY MESSAGE [DETAILS]" in result.err
    assert result.seconds < 5


def test_down_server_exits_3_within_seconds() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # free: nothing listens there
    result = run_sync(
        "system-alert", "payments", "critical", "支付接口大量超时", env=script_env(url)
    )
    assert result.code == 3
    assert result.out == ""
    assert result.err.startswith(f"alert-webhook.sh: cannot reach {url} (")
    assert "connect" in result.err.lower()
    assert result.err.count("\n") == 1
    assert result.seconds < 15  # two retries of a refused connection, about 3 s


# -- every TYPE ----------------------------------------------------------------------


async def test_every_type_lands_in_its_phase_and_the_draft(receiver: Receiver) -> None:
    env = receiver.env()
    opened = await run(
        "system-alert", "payments", "critical", "支付接口大量超时", "5xx > 20%", env=env
    )
    assert (opened.code, opened.out, opened.err) == (0, recorded(receiver, 1), "")

    expected: dict[str, tuple[str, str, str]] = {
        "system-alert": ("张三", "支付接口大量超时", "5xx > 20%")
    }
    for index, member in enumerate(EventType):
        name = member.value
        if name == "system-alert":
            continue
        message, details = f"{name}：{MEANINGS[name]}已完成", f"{name} 的详情"
        options = ["--actor", "李四"] if index % 2 else []
        result = await run(*options, name, "payments", "critical", message, details, env=env)
        assert (result.code, result.out, result.err) == (0, recorded(receiver, 1), ""), name
        expected[name] = ("李四" if options else "张三", message, details)

    rows = await receiver.manual_rows(1)
    assert Counter(row["subject"] for row in rows) == dict.fromkeys(ROWS, 1)
    for row in rows:
        kind, phase = ROWS[row["subject"]]
        actor, message, details = expected[row["subject"]]
        assert (row["kind"], row["phase"]) == (kind, phase), row
        assert (row["actor"], row["note"], row["detail"]) == (actor, message, details), row

    # a manual incident with no alerts recovers on `resolve` and gets a draft; the
    # `note` after it still lands (the incident ended minutes ago) and is in the draft
    incident = await receiver.get("/api/v1/incidents/1")
    assert incident["status"] == "drafted"
    assert incident["ended_at"] is not None
    assert await receiver.incident_total() == 1
    draft = await receiver.text("/api/v1/incidents/1/postmortem.md")
    table_rows = [line for line in draft.splitlines() if line.startswith("| ")]
    for name, (actor, message, details) in expected.items():
        matching = [
            line
            for line in table_rows
            if f"`{name}`" in line and md_inline(message) in line and md_inline(details) in line
        ]
        assert len(matching) == 1, (name, table_rows)
        assert actor in matching[0]


async def test_events_for_an_alertmanager_incident(receiver: Receiver) -> None:
    async with receiver.http.post(
        receiver.url + "/api/v1/alerts", json=capture("firing_group_3"), headers=AUTH
    ) as response:
        assert response.status == 202
        accepted = await response.json()
    result = await applied(receiver.http, accepted, base=receiver.url, headers=AUTH)
    incident_id = int(result["incident_id"])
    env = receiver.env()

    # system-alert for a service whose incident is open joins it instead of opening one
    joined = await run("system-alert", "payments", "P1", "用户反馈支付失败", env=env)
    assert (joined.code, joined.out) == (0, recorded(receiver, incident_id))
    ack = await run("ack", "payments", "warning", "已确认，正在排查", env=env)
    assert (ack.code, ack.out) == (0, recorded(receiver, incident_id))
    # --incident names the incident whatever SERVICE says
    named = await run(
        "--incident", str(incident_id), "--actor", "王五",
        "root-cause", "payments-db", "", "慢查询拖垮连接池", "SELECT … FOR UPDATE",
        env=env,
    )  # fmt: skip
    assert (named.code, named.out) == (0, recorded(receiver, incident_id))
    # alerts, not people, decide when an incident whose alerts still fire is over
    resolve = await run("resolve", "payments", "warning", "已恢复", env=env)
    assert (resolve.code, resolve.out) == (0, recorded(receiver, incident_id))

    assert await receiver.incident_total() == 1
    incident = await receiver.get(f"/api/v1/incidents/{incident_id}")
    assert incident["status"] == "firing"
    assert incident["service"] == "payments"
    rows = await receiver.manual_rows(incident_id)
    assert [(r["kind"], r["phase"], r["actor"], r["note"], r["detail"]) for r in rows] == [
        ("manual_alert", "detect", "张三", "用户反馈支付失败", ""),
        ("ack", "detect", "张三", "已确认，正在排查", ""),
        ("root_cause", "handle", "王五", "慢查询拖垮连接池", "SELECT … FOR UPDATE"),
        ("resolve", "recover", "张三", "已恢复", ""),
    ]


# -- idempotency ---------------------------------------------------------------------


async def test_the_same_call_twice_is_recorded_once(receiver: Receiver) -> None:
    env = receiver.env()
    await within_one_minute()
    for name in ("system-alert", "ack"):
        call = (name, "payments", "critical", f"{name} 一次", "同一分钟内重复")
        first = await run(*call, env=env)
        again = await run(*call, env=env)
        assert (first.code, first.out) == (0, recorded(receiver, 1))
        assert (again.code, again.out, again.err) == (0, recorded(receiver, 1, "duplicate"), "")
    call = ("ack", "payments", "critical", "ack 一次", "同一分钟内重复")
    # the same words from someone else are their own event
    other = await run("--actor", "李四", *call, env=env)
    assert (other.code, other.out) == (0, recorded(receiver, 1))

    rows = await receiver.manual_rows(1)
    assert [(row["kind"], row["actor"]) for row in rows] == [
        ("manual_alert", "张三"),
        ("ack", "张三"),
        ("ack", "李四"),
    ]


async def test_idempotency_key_option_and_the_minute_in_the_default_key(
    receiver: Receiver, tmp_path: Path
) -> None:
    env = receiver.env()
    assert (await run("system-alert", "payments", "critical", "开", env=env)).code == 0

    keyed = ("--idempotency-key", "change-4711-rollback")
    first = await run(*keyed, "rollback", "payments", "critical", "回滚到 v2.3.1", env=env)
    # the key decides, not the content: a retry with other words is the same event
    retry = await run(*keyed, "rollback", "payments", "critical", "回滚 v2.3.1 完成", env=env)
    assert (first.out, retry.out) == (recorded(receiver, 1), recorded(receiver, 1, "duplicate"))
    # and another key with the first words is another event
    other = await run(
        "--idempotency-key=change-4712",
        "rollback",
        "payments",
        "critical",
        "回滚到 v2.3.1",
        env=env,
    )
    assert other.out == recorded(receiver, 1)

    # the default key holds for one UTC minute: `date` says which one here
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_date = bin_dir / "date"
    fake_date.write_text('#!/bin/sh\nprintf "%s\\n" "$FAKE_MINUTE"\n', encoding="utf-8")
    fake_date.chmod(0o755)
    call = ("note", "payments", "critical", "每分钟一次")

    async def note_at(minute: str) -> str:
        result = await run(
            *call, env=receiver.env(PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_MINUTE=minute)
        )
        assert result.code == 0, result.err
        return result.out

    assert await note_at("20261126T1200") == recorded(receiver, 1)
    assert await note_at("20261126T1200") == recorded(receiver, 1, "duplicate")
    assert await note_at("20261126T1201") == recorded(receiver, 1)

    rows = await receiver.manual_rows(1)
    assert [(row["kind"], row["note"]) for row in rows] == [
        ("manual_alert", "开"),
        ("rollback", "回滚到 v2.3.1"),
        ("rollback", "回滚到 v2.3.1"),
        ("note", "每分钟一次"),
        ("note", "每分钟一次"),
    ]


# -- what the receiver refuses -------------------------------------------------------


async def test_refusals_exit_1_with_the_receivers_message(receiver: Receiver) -> None:
    env = receiver.env()
    valid = ", ".join(t.value for t in EventType)

    unknown = await run("reboot", "payments", "critical", "重启了", env=env)
    assert (unknown.code, unknown.out) == (1, "")
    first_line = unknown.err.splitlines()[0]
    assert first_line == f"alert-webhook.sh: 422: unknown event type; valid types: {valid}"

    nothing_open = await run("ack", "支付", "critical", "已确认", env=env)
    assert (nothing_open.code, nothing_open.out) == (1, "")
    assert nothing_open.err == (
        "alert-webhook.sh: 404: no open incident for service '支付': open one with "
        "system-alert, or name the incident (--incident ID / incident_id)\n"
    )

    no_such = await run("--incident", "999", "ack", "payments", "critical", "已确认", env=env)
    assert (no_such.code, no_such.err) == (1, "alert-webhook.sh: 404: no incident with id 999\n")

    # the field that was wrong follows, one a line
    not_a_number = await run("--incident", "abc", "ack", "payments", "critical", "x", env=env)
    assert not_a_number.code == 1
    assert not_a_number.err.splitlines()[0].startswith(
        "alert-webhook.sh: 422: the event is not valid: incident_id: "
    )
    assert not_a_number.err.splitlines()[1].startswith("  incident_id: ")

    too_long = await run("note", "payments", "critical", "长" * 2001, env=env)
    assert too_long.code == 1
    assert too_long.err.splitlines()[1].startswith("  message: ")

    assert await receiver.incident_total() == 0


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("wrong-token", "the credentials are not valid"),
        (None, "this endpoint needs an Authorization header"),
        ("", "this endpoint needs an Authorization header"),
    ],
    ids=["wrong", "unset", "empty"],
)
async def test_wrong_or_missing_token_exits_1_with_the_401_message(
    receiver: Receiver, token: str | None, message: str
) -> None:
    result = await run(
        "system-alert", "payments", "critical", "支付接口大量超时",
        env=receiver.env(RECEIVER_TOKEN=token),
    )  # fmt: skip
    assert (result.code, result.out, result.err) == (1, "", f"alert-webhook.sh: 401: {message}\n")
    assert await receiver.incident_total() == 0


async def test_the_token_and_the_options_curl_gets(receiver: Receiver, tmp_path: Path) -> None:
    """curl reads the token from its standard input: no `ps` shows it."""
    real_curl = shutil.which("curl")
    assert real_curl is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "curl-argv"
    wrapper = bin_dir / "curl"
    wrapper.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" >"{log}"\nexec "{real_curl}" "$@"\n', encoding="utf-8"
    )
    wrapper.chmod(0o755)
    result = await run(
        "system-alert", "payments", "critical", "支付接口大量超时",
        env=receiver.env(PATH=f"{bin_dir}:{os.environ['PATH']}"),
    )  # fmt: skip
    assert result.out == recorded(receiver, 1)
    argv = log.read_text(encoding="utf-8")
    assert TOKEN not in argv
    for option in ("--connect-timeout\n5\n", "--max-time\n20\n", "--retry\n2\n"):
        assert option in argv
    assert "--retry-connrefused\n" in argv
    assert "--data-urlencode\nidempotency_key=alert-webhook-" in argv


# -- text ----------------------------------------------------------------------------


async def test_quotes_newlines_and_chinese_arrive_byte_exact(
    receiver: Receiver, tmp_path: Path
) -> None:
    marker = tmp_path / "executed"
    message = (
        "He said \"stop\" and it's 'quoted'; a\\b \\n \\\\ $HOME ${PATH} "
        f"$(touch {marker}) `touch {marker}` & a=b&c=d 100% %41 + 1+1=2 #hash ?q <tag>\n"
        "第二行：支付接口大量超时，“引号”『括号』\n\tindented line"
    )
    details = (
        f"@{marker}\n"  # a leading @ is curl's "read this file" elsewhere: here it is text
        "SELECT * FROM orders WHERE note = 'it''s' AND x = \"y\";\n"
        "emoji 🚨 and a tab\tand a carriage return\r\nend: 5xx > 20% & p99=2.3s"
    )
    service = "支付-payments"
    env = receiver.env(RECEIVER_ACTOR='O\'Brien "Bob" 张')

    opened = await run("system-alert", service, "critical", message, details, env=env)
    assert opened.out == recorded(receiver, 1)
    noted = await run("note", service, "critical", message, details, env=env)
    assert noted.out == recorded(receiver, 1)
    resolved = await run("resolve", service, "critical", "恢复", env=env)
    assert resolved.out == recorded(receiver, 1)
    assert not marker.exists(), "the script ran a command found in its arguments"

    incident = await receiver.get("/api/v1/incidents/1")
    assert incident["service"] == service
    assert incident["title"] == message
    rows = await receiver.manual_rows(1)
    assert [(row["kind"], row["note"], row["detail"]) for row in rows] == [
        ("manual_alert", message, details),
        ("note", message, details),
        ("resolve", "恢复", ""),
    ]
    assert {row["actor"] for row in rows} == {'O\'Brien "Bob" 张'}

    draft = await receiver.text("/api/v1/incidents/1/postmortem.md")
    assert md_inline(details) in draft
    assert md_inline(message) in draft


async def test_actor_defaults_to_user_then_the_login_name(receiver: Receiver) -> None:
    env = receiver.env(RECEIVER_ACTOR=None, USER="oncall-user")
    assert (await run("system-alert", "payments", "critical", "开", env=env)).code == 0
    env = receiver.env(RECEIVER_ACTOR=None, USER=None)
    assert (await run("ack", "payments", "critical", "确认", env=env)).code == 0
    env = receiver.env(RECEIVER_ACTOR="", USER="")
    assert (await run("note", "payments", "critical", "备注", env=env)).code == 0
    login = pwd.getpwuid(os.getuid()).pw_name
    rows = await receiver.manual_rows(1)
    assert [(row["kind"], row["actor"]) for row in rows] == [
        ("manual_alert", "oncall-user"),
        ("ack", login),
        ("note", login),
    ]


# -- a real receiver process ---------------------------------------------------------


def test_against_python_m_receiver_serve(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str
) -> None:
    """As the runbooks call it: ./scripts/alert-webhook.sh, its #!/bin/sh, a real server."""
    service, _ = start_receiver(
        request,
        tmp_path,
        database_url=database_url,
        extra_env={"RECEIVER_AUTH_TOKEN": TOKEN, "RECEIVER_PUBLIC_URL": "https://pm.example"},
    )
    env = script_env(service.base_url + "/")  # a trailing slash is fine
    calls = [
        ("system-alert", "payments", "critical", "支付接口大量超时", "5xx > 20%"),
        ("rollback", "payments", "critical", "回滚到 v2.3.1"),
        ("resolve", "payments", "critical", "支付恢复正常", "p99 < 300ms"),
    ]
    for call in calls:
        result = run_sync(*call, env=env, direct=True)
        assert (result.code, result.out, result.err) == (
            0,
            "incident #1 recorded https://pm.example/incidents/1\n",
            "",
        )
    wrong = run_sync(*calls[1], env=script_env(service.base_url, RECEIVER_TOKEN="x"), direct=True)
    assert (wrong.code, wrong.err) == (1, "alert-webhook.sh: 401: the credentials are not valid\n")

    get = urllib.request.Request(f"{service.base_url}/api/v1/incidents/1", headers=AUTH)
    with urllib.request.urlopen(get, timeout=10) as response:
        incident = json.loads(response.read())
    assert incident["status"] == "drafted"
    rows = [row for row in incident["timeline"] if row["kind"] != "incident_opened"]
    assert [(row["kind"], row["actor"]) for row in rows] == [
        ("manual_alert", "张三"),
        ("rollback", "张三"),
        ("resolve", "张三"),
    ]
    get = urllib.request.Request(
        f"{service.base_url}/api/v1/incidents/1/postmortem.md", headers=AUTH
    )
    with urllib.request.urlopen(get, timeout=10) as response:
        draft = response.read().decode("utf-8")
    assert "回滚到 v2.3.1" in draft
    assert md_inline("p99 < 300ms") in draft


# -- deploy | config: a change to a service (issue 20) ---------------------------------


def change_accepted(receiver: Receiver, out: str) -> dict[str, Any]:
    """The 202 the script printed, as the receiver gave it."""
    assert out.startswith("change accepted: inbox #"), out
    inbox_id = int(out.split("#", 1)[1].split()[0])
    assert out == f"change accepted: inbox #{inbox_id} {receiver.url}/api/v1/inbox/{inbox_id}\n"
    return {"status": "accepted", "inbox_id": inbox_id}


def test_help_shows_the_change_subcommands() -> None:
    result = run_sync("--help", env=script_env("http://127.0.0.1:9"))
    assert "alert-webhook.sh deploy|config SERVICE WHAT" in result.out
    assert "记录一次变更" in result.out
    for option in ("--version", "--from", "--by", "--link", "--at", "--id"):
        assert option in result.out


async def test_deploy_records_a_change_with_every_option(receiver: Receiver) -> None:
    result = await run(
        "deploy", "payments", "发布 payments-api：连接池 \"20\" → 50\n第二行",
        "--version", "v2.32.0", "--from=v2.31.4", "--by", "李四",
        "--link", "https://git.example.com/payments/-/releases/v2.32.0?a=1&b=2",
        "--at", "2026-11-27T02:55:00+08:00",
        env=receiver.env(),
    )  # fmt: skip
    assert (result.code, result.err) == (0, "")
    entry = await wait_applied(receiver.http, change_accepted(receiver, result.out),
                               base=receiver.url, headers=AUTH, state="applied")  # fmt: skip
    assert entry["outcome"] == "created"
    [change] = (await receiver.get("/api/v1/changes"))["changes"]
    assert change["source"] == "manual"
    assert change["type"] == "deploy"
    assert change["service"] == "payments"
    assert change["summary"] == '发布 payments-api：连接池 "20" → 50\n第二行'
    assert (change["from_version"], change["to_version"]) == ("v2.31.4", "v2.32.0")
    assert change["actor"] == "李四"
    assert change["link"] == "https://git.example.com/payments/-/releases/v2.32.0?a=1&b=2"
    assert change["started_at"] == "2026-11-26T18:55:00Z"


async def test_config_defaults_to_the_actor_and_now_and_repeats_are_stored_once(
    receiver: Receiver,
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    args = ("config", "checkout", "超时 3s → 5s", "--id", "cfg-1")
    first = await run(*args, env=receiver.env())
    assert first.code == 0, first.err
    await wait_applied(receiver.http, change_accepted(receiver, first.out), base=receiver.url,
                       headers=AUTH, state="applied")  # fmt: skip
    again = await run(*args, env=receiver.env())
    assert again.code == 0, again.err
    repeat = await wait_applied(receiver.http, change_accepted(receiver, again.out),
                                base=receiver.url, headers=AUTH, state="applied")  # fmt: skip
    assert repeat["outcome"] == "unchanged"
    [change] = (await receiver.get("/api/v1/changes?service=checkout"))["changes"]
    assert (change["type"], change["actor"]) == ("config", "张三")  # RECEIVER_ACTOR
    started = datetime.fromisoformat(change["started_at"].replace("Z", "+00:00"))
    assert before <= started <= datetime.now(UTC)


CHANGE_BAD_USAGE = [
    ("no WHAT", ["deploy", "payments"]),
    ("one argument too many", ["deploy", "payments", "x", "y"]),
    ("unknown option", ["config", "payments", "x", "--bogus"]),
    ("option without its value", ["deploy", "payments", "x", "--version"]),
]


@pytest.mark.parametrize(
    "args", [case[1] for case in CHANGE_BAD_USAGE], ids=[c[0] for c in CHANGE_BAD_USAGE]
)
def test_change_bad_arguments_exit_2_and_send_nothing(args: list[str]) -> None:
    result = run_sync(*args, env=script_env(f"http://127.0.0.1:{free_port()}"))
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith("alert-webhook.sh: ")
    assert "deploy|config SERVICE WHAT" in result.err


async def test_a_refused_change_exits_1_with_the_receivers_message(receiver: Receiver) -> None:
    bad_time = await run("deploy", "payments", "x", "--at", "yesterday", env=receiver.env())
    assert (bad_time.code, bad_time.out) == (1, "")
    assert bad_time.err.splitlines()[0].startswith(
        "alert-webhook.sh: 422: the body is not a manual change: at: "
    )
    assert bad_time.err.splitlines()[1].startswith("  at: ")
    no_token = await run("deploy", "payments", "x", env=receiver.env(RECEIVER_TOKEN=None))
    assert (no_token.code, no_token.err) == (
        1,
        "alert-webhook.sh: 401: this endpoint needs an Authorization header\n",
    )
    assert (await receiver.get("/api/v1/changes"))["changes"] == []
