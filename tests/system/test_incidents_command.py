"""`incidents list` and `incidents show` as commands: a header and filters, and a summary
that reads like the incident page's header (JSON with --json)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from tests.cli_processes import run, seed
from tests.conftest import Clock, capture
from tests.service.test_reported_end import silenced_incident

HEADER_ZH = "编号\t状态\t级别\t开始\t服务\t标题"


def listed(tmp_path: Path, url: str, *args: str, **env: str) -> list[str]:
    done = run(tmp_path, "incidents", "list", *args, RECEIVER_DATABASE_URL=url, **env)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


async def test_list_has_a_header_and_filters(settings: Settings, tmp_path: Path) -> None:
    url = settings.database_url
    await seed(url, tmp_path / "drafts")
    zone = {"RECEIVER_TIMEZONE": "Asia/Shanghai"}
    # 19:11 UTC on 2026-11-26 is 03:11 on the 27th in Shanghai: rows are in the zone
    assert listed(tmp_path, url, **zone) == [
        HEADER_ZH,
        "#2\tdrafted\tP1\t2026-11-27 03:11\tcheckout\tcheckout 服务 5xx 错误率过高",
        "#1\tdrafted\tP2\t2026-11-27 03:11\tpayments\tpayments P99 延迟过高",
    ]
    assert [row[:2] for row in listed(tmp_path, url, "--service", "payments")[1:]] == ["#1"]
    assert [row[:2] for row in listed(tmp_path, url, "--priority", "P1")[1:]] == ["#2"]
    assert listed(tmp_path, url, "--status", "firing") == [HEADER_ZH]
    # the same date starts before the incidents in Shanghai, after them in UTC
    assert len(listed(tmp_path, url, "--since", "2026-11-27", **zone)) == 3
    assert listed(tmp_path, url, "--since", "2026-11-27") == [HEADER_ZH]
    assert len(listed(tmp_path, url, "--since", "2026-11-26T19:11:00Z")) == 3
    assert listed(tmp_path, url, "--since", "2026-11-26T19:12:00+00:00") == [HEADER_ZH]
    assert listed(tmp_path, url, "--since", "1h") == [HEADER_ZH]  # now is long after
    english = listed(tmp_path, url, "--limit", "1", RECEIVER_LANGUAGE="en")
    assert english[0] == "ID\tSTATUS\tPRIORITY\tSTARTED\tSERVICE\tTITLE"
    assert len(english) == 2


async def test_show_reads_like_the_page_and_json_stays(
    settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    await silenced_incident(settings, clock, resolve_minutes=15)
    start = Webhook.parse(capture("firing_group_3")).alerts[0].starts_at
    resolved = start + timedelta(minutes=15)
    url = settings.database_url

    done = run(tmp_path, "incidents", "show", "1", RECEIVER_DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "#1 payments P99 延迟过高"
    assert lines[1] == "级别：P2  状态：草稿  服务：payments"
    assert lines[2] == f"开始：{start:%Y-%m-%d %H:%M:%S}"
    # lisi's report of recovery, not reconciliation's later upper bound: 约, and its source
    assert lines[3] == f"结束：约 {resolved:%Y-%m-%d %H:%M:%S}（结束时间为人工上报）"
    assert lines[4] == "持续：约 0h 15m"
    assert lines[5] == "负责人：未填写"
    assert lines[6].startswith("人工填写 0/13 项；待填：负责人（批准前必填）、参与人员、")

    english = run(
        tmp_path, "incidents", "show", "1", RECEIVER_DATABASE_URL=url, RECEIVER_LANGUAGE="en"
    )
    assert f"Ended: about {resolved:%Y-%m-%d %H:%M:%S} (the end was reported by a person)" in (
        english.stdout.splitlines()
    )

    as_json = run(tmp_path, "incidents", "show", "1", "--json", RECEIVER_DATABASE_URL=url)
    assert as_json.returncode == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    assert (body["id"], body["status"]) == (1, "drafted")
    assert {"alerts", "timeline"} <= body.keys()
