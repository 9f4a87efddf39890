"""`check-config` as a process: every problem at once, by the name it was given under,
with the nearest known name for an unknown one; and nothing created."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli_processes import run


def tree(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def test_check_config_creates_nothing(tmp_path: Path) -> None:
    """The defaults: ./data/receiver.db and ./drafts, neither there yet."""
    before = tree(tmp_path)
    done = run(tmp_path, "check-config")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "正常：设置、模板（zh, en）、草稿目录、数据库（首次启动时创建）\n"
    assert tree(tmp_path) == before == set()


def test_check_config_reports_every_problem_at_once(tmp_path: Path) -> None:
    config = tmp_path / "receiver.toml"
    config.write_text(
        'timezon = "Asia/Shanghai"\n'
        'max_alerts = "many"\n'
        "[[notify.channels]]\n"
        'name = "team"\n'
        'type = "slack"\n'
        'ur = "https://hooks.slack.example/x"\n',
        encoding="utf-8",
    )
    done = run(
        tmp_path,
        "--config",
        str(config),
        "check-config",
        RECEIVER_TIMEZOME="UTC",  # misspelt: it would be ignored silently
        RECEIVER_LANGUAGE="fr",
    )
    assert done.returncode == 2, done.stderr
    problems = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert problems == [
        f"问题：设置文件 {config} 中的 timezon 不是一个设置；你是不是想写 timezone？",
        "问题：设置 RECEIVER_LANGUAGE：应为 'zh' 或 'en' 之一；改正这个值",
        f"问题：设置 max_alerts（在 {config} 中）：应为整数；改正这个值",
        f"问题：设置文件 {config} 中的 notify.channels[0].ur 不是一个设置；你是不是想写 url？",
        "问题：环境变量 RECEIVER_TIMEZOME 不是一个设置；你是不是想写 RECEIVER_TIMEZONE？",
    ]
    assert done.stdout == ""
    assert tree(tmp_path) == {"receiver.toml"}


def test_check_config_lists_the_checks_problems_together(tmp_path: Path) -> None:
    """Valid settings, but a drafts directory under a file, a database that cannot be
    created there either, and a misspelt variable: all three, in English."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    done = run(
        tmp_path,
        "check-config",
        RECEIVER_LANGUAGE="en",
        RECEIVER_DRAFTS_DIR=str(blocker / "drafts"),
        RECEIVER_DATABASE_URL=f"sqlite:///{blocker / 'data' / 'receiver.db'}",
        RECEIVER_DRAFT_DIR="x",
    )
    assert done.returncode == 1, done.stderr
    problems = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert problems == [
        "problem: the environment variable RECEIVER_DRAFT_DIR is not a setting; "
        "did you mean RECEIVER_DRAFTS_DIR?",
        f"problem: drafts directory {blocker / 'drafts'} is not writable: "
        "a part of the path is not a directory",
        f"problem: the database file {blocker / 'data' / 'receiver.db'} cannot be created: "
        "a part of the path is not a directory",
    ]
    assert tree(tmp_path) == {"a-file"}
    assert os.path.isfile(blocker)
