"""End to end, as a new on-call engineer would run it: what the draft says about a
silenced incident that people worked on and that recovered without a notification.

The real Alertmanager binary and the real receiver on loopback, nothing mocked:

1. a group of three payments alerts is posted to Alertmanager, which delivers it;
2. zhangsan silences them through Alertmanager's API (the acknowledgement);
3. people report assemble, ack, restart, rollback, root-cause and a note with
   `scripts/alert-webhook.sh`, run by dash as a process;
4. the alerts resolve while silenced: Alertmanager sends no resolved webhook;
5. the receiver's reconciler (every second, RECEIVER_ALERTMANAGER_RESTART_GRACE=0s)
   finds them gone and writes the draft.

The scenario runs once for the module; each test reads one part of the draft. Nobody
reports `resolve` here, so the end is reconciliation's upper bound; a person's earlier
resolve as the end is checked without processes in tests/service/test_reported_end.py.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from tests.processes import (
    PAYMENTS_DRAFT_NAME,
    PAYMENTS_INSTANCES,
    TOKEN,
    alertmanager_binary,
    get_json,
    get_text,
    kinds,
    payments_alerts,
    poll,
    post_alerts,
    start_alertmanager,
    start_receiver,
)
from tests.system.test_alert_webhook_script import run, script_env
from tests.system.test_e2e_silences import (
    RECONCILE_ENV,
    SILENCE_AUTHOR,
    WAIT,
    Rig,
    create_silence,
    fire_and_wait,
    wait_for_ack,
)

pytestmark = pytest.mark.e2e

ZONE = "Asia/Shanghai"
ROOT_CAUSE = "连接池配置被改小"
# what people report, in this order, with alert-webhook.sh: (TYPE, actor, message)
REPORTS = (
    ("assemble", "lisi", "拉起 payments 值班群"),
    ("ack", "zhangsan", "确认 P2，开始排查"),
    ("restart", "lisi", "重启 payments-api 三个实例"),
    ("rollback", "wangwu", "回滚 payments-api 到 v2.31.4"),
    ("root-cause", "zhangsan", ROOT_CAUSE),
    ("note", "wangwu", "回滚后 P99 回落到 300ms"),
)


@dataclass(frozen=True)
class Outcome:
    """What the scenario left: the incident as the API shows it, the draft, its file."""

    detail: dict[str, Any]
    markdown: str
    file_text: str
    silence_id: str

    def rows(self, kind: str) -> list[dict[str, Any]]:
        return kinds(self.detail, kind)

    def clock(self, moment: str) -> str:
        """An API time as HH:MM:SS in the receiver's zone."""
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        return parsed.astimezone(ZoneInfo(ZONE)).strftime("%H:%M:%S")

    def line(self, prefix: str) -> str:
        found = [line for line in self.markdown.splitlines() if line.startswith(prefix)]
        assert len(found) == 1, (prefix, found)
        return found[0]

    def section(self, heading: str) -> str:
        """The text under `### heading`, up to the next heading."""
        after = self.markdown.split(f"\n### {heading}\n", 1)[1]
        return re.split(r"\n#{2,4} ", after, maxsplit=1)[0]

    def table(self, heading: str) -> list[list[str]]:
        """The rows (cells) of the table under `### heading`, header and rule excluded."""
        lines = [line for line in self.section(heading).splitlines() if line.startswith("|")]
        return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


async def report(base_url: str, kind: str, actor: str, message: str) -> None:
    """One alert-webhook.sh call, as on-call types it; it must be recorded."""
    env = script_env(base_url, RECEIVER_TOKEN=TOKEN)
    done = await run("--actor", actor, kind, "payments", "warning", message, env=env)
    assert done.code == 0, done
    assert done.err == ""
    assert re.fullmatch(r"incident #\d+ recorded \S+\n", done.out), done.out


async def play(rig: Rig, drafts: Path) -> Outcome:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        api = f"{rig.receiver.base_url}/api/v1"
        # the alerts fired a few minutes before anyone looked
        started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=4)
        incident_id = (await fire_and_wait(http, rig, started))["id"]
        silence_id = await create_silence(http, rig.alertmanager)
        await wait_for_ack(http, rig.receiver, incident_id)
        for kind, actor, message in REPORTS:
            await report(rig.receiver.base_url, kind, actor, message)

        # The alerts resolve while silenced: endsAt now, in the past once Alertmanager has
        # them. It stores the three of one POST one after another, microseconds apart, so
        # a reconcile pass (every second) finds them gone together.
        ends = datetime.now(UTC)
        await post_alerts(http, rig.alertmanager, payments_alerts(started, ends))

        async def drafted() -> dict[str, Any] | None:
            found: dict[str, Any] = await get_json(http, f"{api}/incidents/{incident_id}")
            return found if found["status"] == "drafted" else None

        detail = await poll("the incident to recover through reconciliation", drafted, WAIT)
        markdown = await get_text(http, f"{api}/incidents/{incident_id}/postmortem.md")
        file_name = detail["drafts"][0]["file_name"]
        assert PAYMENTS_DRAFT_NAME.match(file_name), file_name
        path = drafts / file_name

        async def written() -> str | None:
            return path.read_text(encoding="utf-8") if path.exists() else None

        file_text = await poll(f"the draft file {path}", written, 5)
    return Outcome(detail, markdown, file_text, silence_id)


@pytest.fixture(scope="module")
def outcome(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    alertmanager_binary()  # skip before starting anything when Alertmanager is missing
    workdir = tmp_path_factory.mktemp("silenced-draft")
    receiver, _ = start_receiver(
        request,
        workdir,
        database_url=f"sqlite:///{workdir / 'receiver.db'}",
        extra_env={**RECONCILE_ENV, "RECEIVER_TIMEZONE": ZONE},
    )
    alertmanager = start_alertmanager(request, workdir, receiver.base_url)
    # the receiver learns Alertmanager's URL from the webhooks' externalURL
    rig = Rig(receiver, alertmanager, alertmanager.base_url)
    return asyncio.run(play(rig, workdir / "drafts"))


@pytest.fixture
def done(outcome: Outcome) -> Iterator[Outcome]:
    """The scenario's outcome; a failing test prints the draft it read."""
    yield outcome
    print(outcome.markdown)


# -- the tests ---------------------------------------------------------------------------


def test_the_timeline_holds_what_happened(done: Outcome) -> None:
    assert done.file_text == done.markdown
    silence_ack, manual_ack = done.rows("ack")
    assert (silence_ack["source"], silence_ack["actor"], silence_ack["subject"]) == (
        "silence",
        SILENCE_AUTHOR,
        done.silence_id,
    )
    assert (manual_ack["source"], manual_ack["actor"]) == ("manual", "zhangsan")
    for kind, actor, message in REPORTS:
        rows = done.rows(kind.replace("-", "_"))
        assert [(row["actor"], row["note"], row["source"]) for row in rows[-1:]] == [
            (actor, message, "manual")
        ], kind
    gone = done.rows("alert_gone")
    assert sorted(row["subject"] for row in gone) == list(PAYMENTS_INSTANCES)
    assert len({row["at"] for row in gone}) == 1, "found gone in one reconciliation pass"
    assert done.rows("alert_resolved") == [], "no resolve came by webhook"
    assert [row["source"] for row in done.rows("all_resolved")] == ["reconcile"]


def test_end_time_is_an_upper_bound_from_reconciliation_naming_the_silence(
    done: Outcome,
) -> None:
    ended = datetime.fromisoformat(done.detail["ended_at"].replace("Z", "+00:00"))
    local = ended.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")
    assert done.line("- **结束时间**") == (
        f"- **结束时间**: 不晚于 {local}（对账发现，静默期间无恢复通知；"
        f"静默 `{done.silence_id}` 由 {SILENCE_AUTHOR} 设置）"
    )
    assert "最后告警 endsAt" not in done.markdown


def test_duration_and_mttr_are_marked_as_estimates(done: Outcome) -> None:
    assert re.fullmatch(
        r"- \*\*持续时间\*\*: 约 0 小时 \d+ 分钟（估算，结束时间不是 Alertmanager endsAt：.*",
        done.line("- **持续时间**"),
    )
    mttr = done.line("- **MTTR")
    assert "本次约 " in mttr
    assert "（估算，" in mttr
    assert " 至 不晚于 " in mttr
    assert "（估算）" in done.line("关键间隔")


def test_reconciled_recovery_is_one_row_naming_count_instances_and_silence(
    done: Outcome,
) -> None:
    recover = [row for row in done.table("恢复阶段") if row[0] != "未记录"]
    gone = [row for row in recover if row[1] == "告警恢复（对账）"]
    assert len(gone) == 1, recover
    time, _, actor, remark = gone[0]
    assert time == done.clock(done.rows("alert_gone")[0]["at"])
    assert actor == "系统"
    assert remark == (
        "3 条告警已不在 Alertmanager 中，未收到恢复通知（对账发现）："
        f"{'、'.join(PAYMENTS_INSTANCES)}；"
        f"静默期间无恢复通知，静默 `{done.silence_id}` 由 {SILENCE_AUTHOR} 设置"
    )
    # the 监控确认 row says it once more, briefly, and nothing else recovers
    assert [row[1] for row in recover] == ["告警恢复（对账）", "监控确认"]
    assert recover[1][3] == "3 条告警全部恢复（对账发现，详见上一行）"


def test_hint_names_the_last_action_before_recovery(done: Outcome) -> None:
    rollback = done.rows("rollback")[0]
    hint = next(line for line in done.section("直接原因").splitlines() if "系统记录" in line)
    assert (
        f"恢复前最后一次处理是 {done.clock(rollback['at'])} wangwu 回滚："
        "回滚 payments-api 到 v2.31.4，至多 "
    ) in hint
    assert "后告警于不晚于 " in hint
    assert "重启" not in hint
    assert "两者是否相关需人工确认" in hint


def test_key_intervals_list_every_action(done: Outcome) -> None:
    intervals = done.line("关键间隔")
    named = re.findall(r"[，：](确认|召集|重启|回滚|扩容|临时修复|永久修复) ", intervals)
    assert named == ["确认", "召集", "重启", "回滚"]
    assert "全部告警恢复不晚于 " in intervals


def test_direct_cause_is_seeded_from_the_root_cause_report(done: Outcome) -> None:
    reported = done.clock(done.rows("root_cause")[0]["at"])
    assert f"{ROOT_CAUSE}（zhangsan 于 {reported} 上报，待确认）" in done.section("直接原因")
