"""The draft: golden file, the template's headings, large incidents, hostile alert text."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from receiver.alertmanager.silences import Silence
from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from receiver.drafts import draft_file_name, slugify, write_atomically
from receiver.evidence.record import StoredEvidence
from receiver.postmortem.filters import md_code, md_inline
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.usecases.service import IncidentService
from tests.conftest import REPO, Clock, capture

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "postmortem-template.zh.md"
HEADING = re.compile(r"^(#{2,4}) (.+)$", re.MULTILINE)


def headings(markdown: str) -> list[str]:
    return [f"{hashes} {text.strip()}" for hashes, text in HEADING.findall(markdown)]


def seed_headings() -> list[str]:
    # the seed lives in the shared folder beside the repo; keep a copy for a lone checkout
    source = SEED if SEED.exists() else REPO / "tests" / "fixtures" / "postmortem-template.zh.md"
    return headings(source.read_text(encoding="utf-8"))


def test_every_seed_heading_appears_in_order() -> None:
    draft = (REPO / "examples" / "sample-draft.zh.md").read_text(encoding="utf-8")
    expected = seed_headings()
    assert len(expected) == 40
    assert headings(draft) == expected
    assert "- ] " not in draft  # the seed's typo is not copied
    assert "部署流程（优化部署流程）" in draft  # offered as an example, not an item


def test_english_draft_has_the_same_sections_at_the_same_levels() -> None:
    english = (REPO / "examples" / "sample-draft.en.md").read_text(encoding="utf-8")
    levels = [heading.split(" ")[0] for heading in headings(english)]
    assert levels == [heading.split(" ")[0] for heading in seed_headings()]
    assert "【待填写" not in english
    assert "[TO FILL" in english


async def render_incident(
    settings: Settings, clock: Clock, bodies: list[dict[str, Any]]
) -> tuple[str, str]:
    database = open_configured_database(settings)
    await database.migrate()
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)
    try:
        result = None
        for body in bodies:
            result = await service.ingest_webhook(Webhook.parse(body), json.dumps(body))
            clock.advance(seconds=1)
        assert result is not None
        draft = await service.queries.current_draft(result.incident_id)
        return draft.markdown, draft.file_name
    finally:
        await database.close()


def storm(count: int, status: str) -> dict[str, Any]:
    """A real capture's alert repeated over many instances, as a large group looks."""
    body = capture("firing_group_3" if status == "firing" else "resolved_group_3")
    template = body["alerts"][0]
    body["alerts"] = [
        {
            **template,
            "fingerprint": f"{i:016x}",
            "labels": {
                **template["labels"],
                "instance": f"10.1.{i // 250}.{i % 250}:9100",
                "alertname": "HighLatencyP99" if i % 3 else "HighErrorRate",
            },
        }
        for i in range(count)
    ]
    return body


async def test_large_incident_is_summarised(settings: Settings, clock: Clock) -> None:
    markdown, _ = await render_incident(
        settings, clock, [storm(1000, "firing"), storm(1000, "resolved")]
    )
    assert len(markdown.splitlines()) < 400
    assert "共 1000 条告警。按告警名：HighLatencyP99 666 条、HighErrorRate 334 条" in markdown
    assert "| 另有 950 条 |" in markdown
    assert "监控告警触发（另有 990 条）" in markdown
    assert "告警恢复（另有 990 条）" in markdown
    assert "另有 990 条告警（见附录告警列表）" in markdown
    assert headings(markdown) == seed_headings()


HOSTILE = {
    "alertname": "{{ 7*7 }}{% for x in range(3) %}loop{% endfor %}",
    "service": "../../etc/passwd\u202e\x00",
    "instance": "<script>alert(1)</script>|evil\nrow",
}


async def test_hostile_label_text_is_data_not_template_or_markup(
    settings: Settings, clock: Clock
) -> None:
    bodies = []
    for name in ("firing_single", "resolved_single"):
        body = capture(name)
        body["alerts"][0]["labels"].update(HOSTILE)
        body["alerts"][0]["annotations"]["summary"] = "**bold** [link](javascript:x) `code`"
        body["groupLabels"] = {"alertname": HOSTILE["alertname"], "service": HOSTILE["service"]}
        body["commonLabels"] = {}
        body["commonAnnotations"] = {}
        bodies.append(body)
    markdown, file_name = await render_incident(settings, clock, bodies)
    assert "49" not in markdown
    assert "looplooploop" not in markdown
    assert "{{ 7\\*7 }}{% for x in range(3) %}loop{% endfor %}" in markdown
    outside_code = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    assert "<script>" not in outside_code
    assert "\\<script\\>" in outside_code
    assert "\\*\\*bold\\*\\* \\[link\\](javascript:x) \\`code\\`" in markdown
    assert "\\|evil row" in markdown  # a pipe cannot split a table cell, a newline a row
    assert re.fullmatch(
        r"2026-11-26-1-etc-passwd-7-7-for-x-in-range-3-loop-endfor\.md", file_name
    ), file_name
    assert settings.drafts_dir is not None
    assert [p.name for p in settings.drafts_dir.iterdir()] == [file_name]


@pytest.mark.parametrize(
    ("parts", "slug"),
    [
        (("../../etc/passwd", ""), "etc-passwd"),
        (("支付", "高延迟"), "incident"),
        (("Payments", "HighLatencyP99"), "payments-highlatencyp99"),
        (("a" * 200, "b"), "a" * 60),
        (("\u202eevil\u0000", "..\\x"), "evil-x"),
    ],
)
def test_slug_never_leaves_directory(parts: tuple[str, str], slug: str) -> None:
    assert slugify(*parts) == slug


def test_draft_file_name_uses_zone_date() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    started = datetime(2026, 11, 26, 19, 11, tzinfo=UTC)
    name = draft_file_name(7, started, ZoneInfo("Asia/Shanghai"), "payments", "HighLatencyP99")
    assert name == "2026-11-27-7-payments-highlatencyp99.md"


def test_atomic_write_replaces_and_refuses_unsafe_names(tmp_path: Path) -> None:
    target = write_atomically(tmp_path, "a.md", "one")
    write_atomically(tmp_path, "a.md", "two")
    assert target.read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md"]  # no temp file left over
    for unsafe in ("../a.md", "sub/a.md", ".hidden.md"):
        with pytest.raises(ValueError, match="unsafe"):
            write_atomically(tmp_path, unsafe, "x")


def test_markdown_filters() -> None:
    assert md_inline("a|b\nc") == "a\\|b c"
    assert md_inline("snake_case _x_") == "snake_case \\_x\\_"
    assert md_inline("\u202eevil\u200b\x00 *x*\n") == "evil \\*x\\*"  # bidi, zero-width, NUL
    assert md_inline("plain text 中文") == "plain text 中文"
    assert md_code("uses `ticks`") == "`` uses `ticks` ``"
    assert md_code("a`b") == "``a`b``"
    assert md_code("plain") == "`plain`"


def test_template_override_dir_wins(tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    override = tmp_path / "templates"
    override.mkdir()
    (override / "postmortem.zh.md.j2").write_text("custom {{ v.title }}\n", encoding="utf-8")
    renderer = DraftRenderer(override)
    assert renderer.env.get_template("postmortem.zh.md.j2").render(v={"title": "t"}) == (
        "custom t\n"
    )


@pytest.mark.parametrize(
    "source",
    [
        "{{ v.__class__ }}",
        "{{ v.h.__class__ }}",
        "{{ v.priority_reason.__class__ }}",
        "{{ v.duration_exact.__class__ }}",
        "{{ '{0.__class__}'.format(v) }}",
        "{{ v.title.format_map({}) ~ '{0.__class__}'.format(v.h) }}",
        "{% for row in v.rows.detect %}{{ loop.__class__ }}{% endfor %}",
        "{% macro m(x) %}{{ x.__class__ }}{% endmacro %}{{ m(v) }}",
        "{% macro m() %}{% endmacro %}{{ m._func }}",
        "{{ refused() }}",
        "{{ v.h.parse_file('/etc/hostname') }}",
        "{{ v.h.model_dump() }}",
        "{{ v.h.merged({}).owner }}",
        "{{ v.h.actions[0].model_copy() }}",
    ],
)
def test_sandbox_refuses_internals_of_the_view_and_unsafe_callables(source: str) -> None:
    """The sandbox's short ways (view fields, the template's own macros) open nothing else,
    and people's fields give their fields only, none of the model's methods."""
    from zoneinfo import ZoneInfo

    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import unsafe

    from receiver.config import DEFAULT_SEVERITY_MAP
    from receiver.domain.incident import Rules
    from receiver.postmortem.build import build_view
    from receiver.postmortem.sample import sample_draft_input
    from receiver.postmortem.view import RenderOptions

    options = RenderOptions("zh", ZoneInfo("Asia/Shanghai"), Rules(DEFAULT_SEVERITY_MAP))
    view = build_view(sample_draft_input(), options)
    template = DraftRenderer().env.from_string(source)
    with pytest.raises(SecurityError):
        template.render(v=view, refused=unsafe(lambda: "called"))


def test_sandbox_short_ways_give_what_the_generic_checks_give() -> None:
    from zoneinfo import ZoneInfo

    from receiver.config import DEFAULT_SEVERITY_MAP
    from receiver.domain.incident import Rules
    from receiver.postmortem.build import build_view
    from receiver.postmortem.sample import sample_draft_input
    from receiver.postmortem.view import RenderOptions

    options = RenderOptions("zh", ZoneInfo("Asia/Shanghai"), Rules(DEFAULT_SEVERITY_MAP))
    view = build_view(sample_draft_input(), options)
    source = (
        "{% macro m(x, y='d') %}{{ x }}{{ y }}{% endmacro %}"
        "{{ v.h.owner }} {{ v.h.actions[0].text }} {{ v.priority_reason.source }} "
        "{{ v.duration_exact.total_seconds() | int }} "
        "{% for row in v.rows.detect %}{{ m(row.kind, y=loop.index) }}{{ loop.last }}{% endfor %} "
        "{{ m(1) }} {{ v.nothing is undefined }} {{ v.h.nothing is undefined }}"
    )
    assert DraftRenderer().env.from_string(source).render(v=view) == (
        "zhangsan raise pool size severity 1650 "
        "alert_fired1Falsealert_fired2Falseincident_opened3False"
        "alert_fired4Falseack5Falseassemble6True 1d True True"
    )


def table(markdown: str, heading: str) -> list[list[str]]:
    """The rows (cells) of the table under a `### heading`, header and rule excluded."""
    section = markdown.split(f"### {heading}\n", 1)[1].split("\n\n", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


def zhangsans_silence(start: datetime, silence_id: str, comment: str, *, minutes: int) -> Silence:
    """zhangsan's hour-long silence of payments' alerts, set `minutes` after they fired,
    as Alertmanager's API returns it."""
    return Silence.model_validate(
        {
            "id": silence_id,
            "status": {"state": "active"},
            "createdBy": "zhangsan",
            "comment": comment,
            "startsAt": start + timedelta(minutes=minutes),
            "endsAt": start + timedelta(hours=1),
            "matchers": [{"name": "service", "value": "payments"}],
        }
    )


async def test_alert_silence_and_manual_rows_in_their_tables_in_time_order(
    settings: Settings, clock: Clock
) -> None:
    from datetime import timedelta

    from receiver.usecases.reconcile import AlertmanagerView
    from receiver.usecases.record_event import ManualEvent
    from tests.conftest import shifted

    database = open_configured_database(settings)
    await database.migrate()
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)
    later = timedelta(minutes=28)  # the alerts resolve 28 minutes after they fired

    async def post_event(kind: str, actor: str, message: str, minutes: int) -> None:
        clock.now = start + timedelta(minutes=minutes)
        await service.record_event(
            ManualEvent(type=kind, service="payments", message=message, actor=actor), "{}"
        )

    try:
        firing = capture("firing_group_3")
        start = Webhook.parse(firing).alerts[0].starts_at
        clock.now = start + timedelta(seconds=30)
        await service.ingest_webhook(Webhook.parse(firing), json.dumps(firing))
        silenced = zhangsans_silence(start, "s1", "正在排查 payments 延迟", minutes=7)
        clock.now = start + timedelta(minutes=8)
        await service.reconcile.apply_alertmanager_view(
            1, AlertmanagerView([silenced], None, clock.now)
        )
        await post_event("assemble", "lisi", "拉起 payments 值班群", 10)
        await post_event("rollback", "wangwu", "回滚 payments-api 到 v2.31.4", 18)
        resolved = shifted(capture("resolved_group_3"), timedelta())
        for alert in resolved["alerts"]:
            alert["endsAt"] = (start + later).isoformat().replace("+00:00", "Z")
        clock.now = start + later + timedelta(seconds=30)
        await service.ingest_webhook(Webhook.parse(resolved), json.dumps(resolved))
        await post_event("verify", "zhangsan", "支付成功率恢复到 99.95%", 30)
        markdown = (await service.queries.current_draft(1)).markdown
    finally:
        await database.close()

    detect = [(r[1], r[2]) for r in table(markdown, "发现阶段") if r[0] != "未记录"]
    assert detect == [
        ("监控告警触发", "系统"),
        ("监控告警触发", "系统"),
        ("监控告警触发", "系统"),
        ("事故创建（#1）", "系统"),
        ("事故确认", "zhangsan"),
        ("响应团队召集", "lisi"),
    ]
    handle = [(r[1], r[2]) for r in table(markdown, "处理阶段") if r[0] != "未记录"]
    assert handle == [("故障三板斧 - 回滚", "wangwu")]
    recover = [(r[1], r[2]) for r in table(markdown, "恢复阶段") if r[0] != "未记录"]
    assert recover == [("告警恢复", "系统")] * 3 + [("监控确认", "系统"), ("功能验证", "zhangsan")]
    for name in ("发现阶段", "处理阶段", "恢复阶段"):
        times = [r[0] for r in table(markdown, name) if r[0] != "未记录"]
        assert times == sorted(times), name
    assert "由 Alertmanager 静默推断，静默备注：正在排查 payments 延迟" in markdown
    assert "首个确认人为 zhangsan" in markdown
    assert "参与人员**: zhangsan、lisi、wangwu（来自时间线记录）" in markdown
    assert "- **回滚版本**: " in markdown
    reported = r"回滚 payments-api 到 v2\.31\.4（wangwu 于 \d\d:\d\d:\d\d 上报，待确认）"
    assert re.search(reported, markdown)
    assert "确认 7 分" in markdown
    assert "回滚 18 分" in markdown


async def test_alertmanager_link_uses_the_configured_address_not_the_external_url(
    make_settings: Callable[..., Settings], clock: Clock
) -> None:
    body = capture("firing_group_3")
    internal = body["externalURL"]
    configured = make_settings(alertmanager_url="https://alertmanager.example.org")
    markdown, _ = await render_incident(configured, clock, [body, capture("resolved_group_3")])
    assert "(https://alertmanager.example.org/#/alerts?receiver=" in markdown
    assert f"({internal}/#/alerts" not in markdown


async def test_hint_names_the_last_action_before_recovery_and_intervals_list_every_action(
    settings: Settings, clock: Clock
) -> None:
    from datetime import timedelta

    from receiver.usecases.record_event import ManualEvent
    from tests.conftest import shifted

    database = open_configured_database(settings)
    await database.migrate()
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)

    async def post_event(kind: str, actor: str, message: str, minutes: int) -> None:
        clock.now = start + timedelta(minutes=minutes)
        await service.record_event(
            ManualEvent(type=kind, service="payments", message=message, actor=actor), "{}"
        )

    try:
        firing = capture("firing_group_3")
        start = Webhook.parse(firing).alerts[0].starts_at
        clock.now = start + timedelta(seconds=30)
        await service.ingest_webhook(Webhook.parse(firing), json.dumps(firing))
        await post_event("ack", "zhangsan", "在看", 2)
        await post_event("assemble", "lisi", "拉起 payments 值班群", 4)
        await post_event("restart", "lisi", "重启 payments-api", 6)
        await post_event("rollback", "wangwu", "回滚 payments-api 到 v2.31.4", 18)
        resolved = shifted(capture("resolved_group_3"), timedelta())
        for alert in resolved["alerts"]:
            alert["endsAt"] = (start + timedelta(minutes=28)).isoformat().replace("+00:00", "Z")
        clock.now = start + timedelta(minutes=28)
        await service.ingest_webhook(Webhook.parse(resolved), json.dumps(resolved))
        markdown = (await service.queries.current_draft(1)).markdown
    finally:
        await database.close()

    hint = next(line for line in markdown.splitlines() if line.startswith("*系统记录"))
    assert "恢复前最后一次处理是" in hint
    assert "wangwu 回滚：回滚 payments-api 到 v2.31.4，10 分 0 秒后告警于" in hint
    assert "重启" not in hint
    intervals = next(line for line in markdown.splitlines() if line.startswith("关键间隔"))
    assert "确认 2 分 0 秒，召集 4 分 0 秒，重启 6 分 0 秒（距全部恢复 22 分 0 秒），" in intervals
    assert "回滚 18 分 0 秒（距全部恢复 10 分 0 秒），全部告警恢复 28 分 0 秒" in intervals
    assert intervals.count("回滚") == 1


@pytest.mark.parametrize("reported", [False, True])
async def test_recovery_found_by_reconciliation_says_what_is_known(
    settings: Settings, clock: Clock, reported: bool
) -> None:
    from datetime import timedelta

    from receiver.usecases.reconcile import AlertmanagerView
    from receiver.usecases.record_event import ManualEvent

    database = open_configured_database(settings)
    await database.migrate()
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)
    try:
        firing = capture("firing_group_3")
        start = Webhook.parse(firing).alerts[0].starts_at
        clock.now = start + timedelta(seconds=30)
        await service.ingest_webhook(Webhook.parse(firing), json.dumps(firing))
        silenced = zhangsans_silence(start, "5f3c2a", "正在排查", minutes=2)
        clock.now = start + timedelta(minutes=3)
        await service.reconcile.apply_alertmanager_view(
            1, AlertmanagerView([silenced], {a["fingerprint"] for a in firing["alerts"]}, clock.now)
        )
        if reported:
            clock.now = start + timedelta(minutes=20)
            await service.record_event(
                ManualEvent(type="verify", service="payments", message="成功率恢复", actor="lisi"),
                "{}",
            )
        # the alerts resolve silently; reconciliation finds them gone 40 minutes in
        clock.now = start + timedelta(minutes=40)
        await service.reconcile.apply_alertmanager_view(
            1, AlertmanagerView([silenced], set(), clock.now)
        )
        markdown = (await service.queries.current_draft(1)).markdown
    finally:
        await database.close()

    end = next(line for line in markdown.splitlines() if line.startswith("- **结束时间**"))
    duration = next(line for line in markdown.splitlines() if line.startswith("- **持续时间**"))
    mttr = next(line for line in markdown.splitlines() if line.startswith("- **MTTR"))
    assert "endsAt" not in end
    why = "静默期间无恢复通知；静默 `5f3c2a` 由 zhangsan 设置"
    if reported:
        assert end.endswith(f"（lisi 上报功能验证的时间；告警由对账发现已恢复，{why}）")
        assert "约 0 小时 20 分钟（估算" in duration
        assert "本次约 20 分钟（估算" in mttr
    else:
        assert "- **结束时间**: 不晚于 " in end
        assert end.endswith(f"（对账发现，{why}）")
        assert "约 0 小时 40 分钟（估算" in duration
        assert "本次约 40 分钟（估算" in mttr
        assert "至 不晚于 " in mttr


async def test_end_from_alertmanager_is_labelled_ends_at_and_not_estimated(
    settings: Settings, clock: Clock
) -> None:
    markdown, _ = await render_incident(
        settings, clock, [capture("firing_group_3"), capture("resolved_group_3")]
    )
    assert "（最后告警 endsAt" in markdown
    assert "估算" not in markdown


async def test_reconciled_recoveries_of_several_alerts_are_one_row_in_natural_order(
    settings: Settings, clock: Clock
) -> None:
    from datetime import timedelta

    from receiver.usecases.reconcile import AlertmanagerView

    firing = capture("firing_group_3")
    # instances whose text order is not their natural order
    for alert, instance in zip(
        firing["alerts"], ("10.0.2.11:9100", "10.0.2.9:9100", "10.0.2.10:9100"), strict=True
    ):
        alert["labels"]["instance"] = instance
    database = open_configured_database(settings)
    await database.migrate()
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)
    try:
        start = Webhook.parse(firing).alerts[0].starts_at
        clock.now = start + timedelta(seconds=30)
        await service.ingest_webhook(Webhook.parse(firing), json.dumps(firing))
        silenced = zhangsans_silence(start, "5f3c2a", "", minutes=2)
        clock.now = start + timedelta(minutes=30)
        await service.reconcile.apply_alertmanager_view(
            1, AlertmanagerView([silenced], set(), clock.now)
        )
        markdown = (await service.queries.current_draft(1)).markdown
    finally:
        await database.close()

    recover = [r for r in table(markdown, "恢复阶段") if r[0] != "未记录"]
    assert [r[1] for r in recover] == ["告警恢复（对账）", "监控确认"]
    assert recover[0][3] == (
        "3 条告警已不在 Alertmanager 中，未收到恢复通知（对账发现）："
        "10.0.2.9:9100、10.0.2.10:9100、10.0.2.11:9100；"
        "静默期间无恢复通知，静默 `5f3c2a` 由 zhangsan 设置"
    )
    assert "未收到恢复通知" not in recover[1][3]
    detect = [r[3] for r in table(markdown, "发现阶段") if r[1] == "监控告警触发"]
    assert [d.split()[1] for d in detect] == ["10.0.2.9:9100", "10.0.2.10:9100", "10.0.2.11:9100"]


async def test_changing_the_time_zone_leaves_one_draft_file_per_incident(
    make_settings: Callable[..., Settings], clock: Clock, tmp_path: Path
) -> None:
    from receiver.usecases.record_event import ManualEvent

    drafts = tmp_path / "drafts"
    other = drafts / "2026-11-26-12-payments-highlatencyp99.md"  # another incident's
    drafts.mkdir()
    other.write_text("kept", encoding="utf-8")
    first = make_settings(timezone="UTC")
    _, utc_name = await render_incident(
        first, clock, [capture("firing_group_3"), capture("resolved_group_3")]
    )
    assert sorted(p.name for p in drafts.glob("*.md")) == sorted([utc_name, other.name])
    # the alerts started at 19:11 UTC: 04:11 the next day in Tokyo, so the name changes
    database = open_configured_database(first)
    service = IncidentService(
        database, make_settings(timezone="Asia/Tokyo"), DraftRenderer(), clock=clock
    )
    try:
        await service.record_event(
            ManualEvent(type="verify", service="payments", message="ok", actor="lisi"), "{}"
        )
        draft = await service.queries.current_draft(1)
    finally:
        await database.close()
    assert draft.file_name != utc_name
    assert sorted(p.name for p in drafts.glob("*.md")) == sorted([draft.file_name, other.name])
    assert (drafts / draft.file_name).read_text(encoding="utf-8") == draft.markdown
    assert other.read_text(encoding="utf-8") == "kept"


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_evidence_of_the_metric_back_moves_a_reconciled_end_and_says_so(
    make_settings: Callable[..., Settings], clock: Clock, language: str
) -> None:
    from receiver.evidence.promql import expression_from_generator_url
    from receiver.evidence.record import Breach, ChartEvidence, EvidenceRecord
    from receiver.evidence.recovery import metric_evidence
    from receiver.usecases.reconcile import AlertmanagerView
    from receiver.usecases.record_event import ManualEvent

    # nothing listens on port 9: the evidence is stored by hand, as a fetch would
    settings = make_settings(prometheus_url="http://127.0.0.1:9", language=language)
    database = open_configured_database(settings)
    await database.migrate()
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)
    firing = capture("firing_group_3")
    start = Webhook.parse(firing).alerts[0].starts_at
    expr = expression_from_generator_url(firing["alerts"][0]["generatorURL"]) or ""
    assert expr.endswith(" > 1")
    query = expr.removesuffix(" > 1")
    try:
        clock.now = start + timedelta(seconds=30)
        await service.ingest_webhook(Webhook.parse(firing), json.dumps(firing))
        silenced = zhangsans_silence(start, "5f3c2a", "正在排查", minutes=2)
        clock.now = start + timedelta(minutes=3)
        await service.reconcile.apply_alertmanager_view(
            1, AlertmanagerView([silenced], {a["fingerprint"] for a in firing["alerts"]}, clock.now)
        )
        clock.now = start + timedelta(minutes=25)
        await service.record_event(
            ManualEvent(type="rollback", service="payments", message="回滚到 v2", actor="wangwu"),
            "{}",
        )
        clock.now = start + timedelta(minutes=40)
        await service.reconcile.apply_alertmanager_view(
            1, AlertmanagerView([silenced], set(), clock.now)
        )
        before = (await service.queries.current_draft(1)).markdown
        # two series crossed; one dipped under at 10 min and crossed again, the other was
        # back at 30 min: the metric was back when the later of them was, 33 min 20 s in
        back = start + timedelta(minutes=33, seconds=20)
        two_series = [
            [
                Breach(start - timedelta(minutes=1), start + timedelta(minutes=10)),
                Breach(start + timedelta(minutes=11), back),
            ],
            [Breach(start, start + timedelta(minutes=30))],
        ]
        chart = ChartEvidence(expr, query, "> 1", svg="<svg/>", series=3, breaches=two_series)
        record = EvidenceRecord(
            clock.now, start - timedelta(minutes=30), clock.now, "http://127.0.0.1:9", [chart]
        )
        clock.now += timedelta(seconds=5)
        await service.evidence.store(1, record, 0)
        after = (await service.queries.current_draft(1)).markdown
        page = await service.queries.incident_page(1)
    finally:
        await database.close()

    assert page.metric_evidence == metric_evidence(
        StoredEvidence(1, "complete", record, 1), page.detail.episodes
    )
    ended = Webhook.parse(firing).alerts[0].starts_at + timedelta(minutes=33, seconds=20)
    local = ended.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M:%S")
    lines = {line.split("**")[1]: line for line in after.splitlines() if line.startswith("- **")}
    if language == "zh":
        assert "- **结束时间**: 不晚于 " in before
        assert lines["结束时间"] == (
            f"- **结束时间**: 约 {local}（Prometheus 监控证据：{md_code(query)} "
            "回到阈值以下的时间，见图 1；告警由对账发现已恢复，"
            "静默期间无恢复通知；静默 `5f3c2a` 由 zhangsan 设置）"
        )
        assert "约 0 小时 33 分钟（估算" in lines["持续时间"]
        assert "本次约 33 分钟（估算" in lines["MTTR (平均恢复时间)"]
        assert "不晚于" not in lines["MTTR (平均恢复时间)"]
        intervals = next(line for line in after.splitlines() if line.startswith("关键间隔"))
        assert intervals.endswith(
            "回滚 25 分 0 秒（距全部恢复 约 8 分 20 秒），全部告警恢复 33 分 20 秒（估算）。"
        )
        hint = next(line for line in after.splitlines() if line.startswith("*系统记录"))
        assert f"约 8 分 20 秒后告警于约 {local[11:]} 全部恢复（Prometheus 监控证据）" in hint
    else:
        assert "- **End time**: no later than " in before
        assert lines["End time"] == (
            f"- **End time**: about {local} (Prometheus evidence: the time {md_code(query)} went "
            "back under its threshold, see figure 1; reconciliation found the alerts resolved "
            "later; no resolve notification during the silence: silence `5f3c2a` set by "
            "zhangsan)"
        )
        assert "about 0 hours 33 minutes (estimate" in lines["Duration"]
    assert "endsAt" not in lines["结束时间" if language == "zh" else "End time"]
