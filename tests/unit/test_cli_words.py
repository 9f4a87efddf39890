"""The command line's words and parsing, without a process: both languages say the same
things, `--since` reads what its help promises, and a settings problem is named as it
was written."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from receiver.cli.since import parse_since
from receiver.cli.texts import CLI, usage_message
from receiver.config import ConfigError, load_settings


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_every_text_with_the_same_fields() -> None:
    assert CLI["zh"].keys() == CLI["en"].keys()
    for key in CLI["zh"]:
        assert fields(CLI["zh"][key]) == fields(CLI["en"][key]), key


NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("given", "start"),
    [
        ("2026-11-26", datetime(2026, 11, 25, 16, 0, tzinfo=UTC)),  # midnight in the zone
        ("2026-11-26T08:00:00+08:00", datetime(2026, 11, 26, 0, 0, tzinfo=UTC)),
        ("2026-11-26T08:00:00Z", datetime(2026, 11, 26, 8, 0, tzinfo=UTC)),
        ("7d", NOW - timedelta(days=7)),
        ("1h30m", NOW - timedelta(minutes=90)),
    ],
)
def test_since_reads_a_time_a_date_or_how_long_ago(given: str, start: datetime) -> None:
    since = parse_since(given)
    assert since is not None
    assert since.start(SHANGHAI, NOW) == start


@pytest.mark.parametrize("given", ["", "7", "yesterday", "2026-11-26T08:00:00", "2026-13-01"])
def test_since_refuses_what_it_cannot_place(given: str) -> None:
    """A bare number (seconds? days?) and a time without its zone are refused."""
    assert parse_since(given) is None


def test_argparse_messages_in_chinese() -> None:
    assert usage_message("zh", "the following arguments are required: ID", "p show") == (
        "缺少参数：ID；运行 `p show --help` 查看用法"
    )
    assert usage_message("zh", "unrecognized arguments: --x") == (
        "无法识别的参数：--x；运行 `postmortem-receiver --help` 查看用法"
    )
    assert usage_message("en", "unrecognized arguments: --x") == (
        "unrecognized arguments: --x; see `postmortem-receiver --help`"
    )


def test_problems_are_named_where_they_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "receiver.toml"
    config.write_text(
        'event_rate = 0\nlisten = "nowhere"\n[links]\ndocument = []\n', encoding="utf-8"
    )
    monkeypatch.setenv("RECEIVER_LISTEN", "also-nowhere")  # the variable wins over the file
    with pytest.raises(ConfigError) as refused:
        load_settings(config, max_labels=0)
    named = {(p.name, p.source, p.file) for p in refused.value.problems}
    assert named == {
        ("event_rate", "file", str(config)),
        ("links.document", "file", str(config)),
        ("RECEIVER_LISTEN", "environment", ""),
        ("RECEIVER_MAX_LABELS", "environment", ""),
    }
    [unknown] = [p for p in refused.value.problems if p.name == "links.document"]
    assert unknown.context["suggestions"] == ["documents"]
