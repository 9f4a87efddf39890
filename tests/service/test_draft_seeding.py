"""What people reported reaches the sections that ask for it, marked 待确认; the template's
generic items are examples until people add their own; the appendix names only what this
deployment configured."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.usecases.record_event import ManualEvent
from receiver.usecases.service import IncidentService
from tests.conftest import Clock, capture, shifted

Incident = Callable[..., Awaitable[str]]


def section(markdown: str, heading: str) -> str:
    """The text under one heading, up to the next heading of any level."""
    start = markdown.index(f"{heading}\n") + len(heading) + 1
    found = re.search(r"^#{2,4} ", markdown[start:], re.MULTILINE)  # not a script comment
    return markdown[start : start + found.start()] if found else markdown[start:]


@pytest.fixture
async def incident(
    make_settings: Callable[..., Settings], clock: Clock
) -> AsyncIterator[Callable[..., Awaitable[tuple[IncidentService, str]]]]:
    """Run the payments incident with the given manual events; give back its draft."""
    services: list[IncidentService] = []

    async def run(
        events: list[tuple[str, str, str, str, int]], **settings: Any
    ) -> tuple[IncidentService, str]:
        configured = make_settings(timezone="Asia/Shanghai", **settings)
        database = open_configured_database(configured)
        await database.migrate()
        service = IncidentService(database, configured, DraftRenderer(), clock=clock)
        services.append(service)
        firing = capture("firing_group_3")
        start = Webhook.parse(firing).alerts[0].starts_at
        clock.now = start + timedelta(seconds=30)
        await service.ingest_webhook(Webhook.parse(firing), json.dumps(firing))
        for kind, actor, message, details, minutes in events:
            clock.now = start + timedelta(minutes=minutes)
            event = ManualEvent(
                type=kind, service="payments", message=message, details=details, actor=actor
            )
            await service.record_event(event, "{}")
        resolved = shifted(capture("resolved_group_3"), timedelta())
        for alert in resolved["alerts"]:
            alert["endsAt"] = (start + timedelta(minutes=28)).isoformat().replace("+00:00", "Z")
        clock.now = start + timedelta(minutes=28)
        result = await service.ingest_webhook(Webhook.parse(resolved), json.dumps(resolved))
        return service, (await service.queries.current_draft(result.incident_id)).markdown

    yield run
    for service in services:
        await service.db.close()


EVENTS = [
    ("ack", "zhangsan", "在看", "", 2),
    ("restart", "lisi", "重启 payments-api", "", 6),
    ("root-cause", "zhangsan", "连接池配置被改小", "max_conns 从 200 改成 20", 12),
    ("rollback", "wangwu", "回滚 payments-api 到 v2.31.4", "", 18),
    ("mitigate", "lisi", "临时调大连接池", "", 20),
]


async def test_reported_cause_and_actions_seed_their_sections_marked_to_confirm(
    incident: Callable[..., Awaitable[tuple[IncidentService, str]]],
) -> None:
    service, draft = await incident(EVENTS)
    started = Webhook.parse(capture("firing_group_3")).alerts[0].starts_at
    at = (started + timedelta(hours=8, minutes=12)).strftime("%H:%M:%S")  # Asia/Shanghai
    reported = f"连接池配置被改小（max_conns 从 200 改成 20）（zhangsan 于 {at} 上报，待确认）"
    direct = section(draft, "### 直接原因")
    assert reported in direct
    assert "【待填写：确认或改写上面上报的直接原因】" in direct
    chain = section(draft, "### 影响链分析")
    assert chain.index(reported) < chain.index("→ HighLatencyP99")
    assert "【待填写：上游原因】" not in chain
    contained = section(draft, "### 立即遏制")
    assert re.search(
        r"重启服务\*\*: 重启 payments-api（lisi 于 \d\d:\d\d:\d\d 上报，待确认）", contained
    )
    assert re.search(
        r"回滚版本\*\*: 回滚 payments-api 到 v2\.31\.4（wangwu 于 [\d:]+ 上报，待确认）", contained
    )
    fixed = section(draft, "### 临时修复")
    assert re.search(r"临时修复：临时调大连接池（lisi 于 [\d:]+ 上报，待确认）", fixed)

    # once people write the cause, their words replace the suggestion and its placeholder
    await service.review.update_human_fields(
        1,
        {"direct_cause": "发布 v2.32.0 时连接池被改小", "impact_chain": "连接池过小\n→ 超时"},
        "lisi",
    )
    written = (await service.queries.current_draft(1)).markdown
    assert "发布 v2.32.0 时连接池被改小" in section(written, "### 直接原因")
    assert "待确认" not in section(written, "### 直接原因")
    assert "待确认" not in section(written, "### 影响链分析")
    assert "【待填写" not in section(written, "### 直接原因")


async def test_without_reports_the_sections_keep_their_placeholders(
    incident: Callable[..., Awaitable[tuple[IncidentService, str]]],
) -> None:
    _, draft = await incident([("ack", "zhangsan", "在看", "", 2)])
    assert "【待填写：直接原因，例如某次配置变更或发布】" in section(draft, "### 直接原因")
    assert "【待填写：上游原因】" in section(draft, "### 影响链分析")
    assert "待确认" not in draft.split("## 根因分析")[1].split("## 改进措施")[0]


async def test_english_draft_marks_the_reports_to_be_confirmed(
    incident: Callable[..., Awaitable[tuple[IncidentService, str]]],
) -> None:
    _, draft = await incident(EVENTS, language="en")
    assert re.search(
        r"连接池配置被改小 \(max_conns 从 200 改成 20\) \(reported by zhangsan at [\d:]+, "
        r"to be confirmed\)",
        section(draft, "### Immediate cause"),
    )


async def test_generic_items_are_examples_until_the_section_has_real_ones(
    incident: Callable[..., Awaitable[tuple[IncidentService, str]]],
) -> None:
    service, draft = await incident([])
    short_term = section(draft, "#### 短期改进 (1-2 周)")
    assert "*可选示例（不是实际条目" in short_term
    assert "代码修复（修复导致事故的代码缺陷）" in short_term
    assert "- [ ]" not in draft  # nothing looks like an item people have to tick off
    improvement = {"text": "连接池上限加告警", "owner": "lisi", "area": "tech_short"}
    action = {"text": "连接池配置加评审", "owner": "wangwu", "horizon": "immediate"}
    await service.review.update_human_fields(
        1, {"improvements": [improvement], "actions": [action]}, "lisi"
    )
    written = (await service.queries.current_draft(1)).markdown
    short_term = section(written, "#### 短期改进 (1-2 周)")
    assert "- [ ] **连接池上限加告警**（负责人：lisi）" in short_term
    assert "可选示例" not in short_term
    assert "代码修复" not in short_term
    assert "可选示例" in section(written, "#### 中期改进 (1-3 个月)")  # no items there yet
    assert "- [ ] **连接池配置加评审**（负责人：wangwu）" in section(
        written, "### 立即行动 (1 周内)"
    )
    assert "修复代码（" not in section(written, "### 立即行动 (1 周内)")
    assert "【待填写：在审阅页添加改进措施" not in written
    assert "【待填写：在审阅页添加行动项" not in written


async def test_appendix_names_only_what_is_configured(
    incident: Callable[..., Awaitable[tuple[IncidentService, str]]],
) -> None:
    _, bare = await incident([])
    for invented in (
        "incident-runbook.md",
        "rollback.sh",
        "panic-mode.sh",
        "verify-deploy.sh",
        "ELK",
    ):
        assert invented not in bare
    assert "./scripts/alert-webhook.sh --incident 1 note" in section(bare, "### 相关脚本")
    assert "未配置（在配置文件的 `[links.contacts]` 中填写" in section(bare, "### 联系方式")


async def test_appendix_shows_the_configured_documents_scripts_tools_and_contacts(
    incident: Callable[..., Awaitable[tuple[IncidentService, str]]],
) -> None:
    links = {
        "documents": [{"title": "事故响应手册", "url": "https://wiki.example.com/oncall"}],
        "scripts": [{"title": "回滚脚本", "command": "kubectl rollout undo deploy/payments-api"}],
        "tools": {"日志工具": "Loki"},
        "contacts": {"技术负责人": "张三 - 138 0000 0000 - zhangsan@example.com"},
    }
    _, configured = await incident([], links=links)
    assert "- [事故响应手册](https://wiki.example.com/oncall)" in section(
        configured, "### 相关文档"
    )
    scripts = section(configured, "### 相关脚本")
    assert "# 回滚脚本\nkubectl rollout undo deploy/payments-api" in scripts
    assert "- **日志工具**: Loki" in section(configured, "### 相关工具")
    contacts = section(configured, "### 联系方式")
    assert "- **技术负责人**: 张三 - 138 0000 0000 - zhangsan@example.com" in contacts
    assert "未配置" not in contacts


def test_a_document_link_must_be_one_people_can_open(
    make_settings: Callable[..., Settings],
) -> None:
    from receiver.config import ConfigError

    with pytest.raises(ConfigError, match="http"):
        make_settings(links={"documents": [{"title": "手册", "url": "./incident-runbook.md"}]})


def test_the_readme_links_example_is_a_valid_config_file(tmp_path: Path) -> None:
    from receiver.config import load_settings
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(\[\[links\.documents\]\].*?)```", readme, re.DOTALL)
    assert example is not None
    config = tmp_path / "receiver.toml"
    config.write_text(example.group(1), encoding="utf-8")
    links = load_settings(config, database_url=f"sqlite:///{tmp_path}/r.db").links
    assert [d.title for d in links.documents] == ["事故响应手册"]
    assert links.contacts["技术负责人"].startswith("张三")
