"""Every user error of the command line as a process: one line saying what is wrong and
what to do, in Chinese by default and in English with RECEIVER_LANGUAGE=en, a non-zero
exit code, and no traceback."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_processes import failure_line, run, seed
from tests.conftest import REPO
from tests.processes import LOOPBACK, free_port


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def seeded(tmp_path: Path) -> str:
    """A SQLite database with two drafted incidents."""
    url = sqlite_url(tmp_path / "seeded.db")
    asyncio.run(seed(url, tmp_path / "drafts"))
    return url


# -- the port is in use --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("zh", "端口已被占用；停止占用它的进程，或用 RECEIVER_LISTEN 换一个端口"),
        ("en", "the port is in use; stop the process using it, or choose another port"),
    ],
)
def test_serve_on_a_port_in_use(tmp_path: Path, language: str, said: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run(
            tmp_path,
            "serve",
            RECEIVER_LISTEN=f"{LOOPBACK}:{port}",
            RECEIVER_DATABASE_URL=sqlite_url(tmp_path / "r.db"),
            RECEIVER_LANGUAGE=language,
        )
    line = failure_line(done, 1)
    assert f"{LOOPBACK}:{port}" in line
    assert said in line


# -- a bad value on the command line -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["incidents", "list", "--status", "bogus"], "参数 --status：'bogus' 无效，可选：firing, "),
        (
            ["incidents", "list", "--priority", "P9"],
            "参数 --priority：'P9' 无效，可选：P0, P1, P2, P3",
        ),
        (["incidents", "list", "--since", "yesterday"], "参数 --since：'yesterday' 无法识别"),
        (["incidents", "list", "--since", "2026-11-26T08:00:00"], "用带时区的时间"),
        (["incidents", "list", "--limit", "0"], "参数 --limit：应为 1 到 "),
        (["incidents", "frobnicate"], "参数 action 的值 'frobnicate' 无效，可选：'list', 'show'"),
        (["drafts", "export"], "需要以下参数之一：--id --all"),
        (["replay", "--since", "2026-11-26"], "参数 --since：'2026-11-26' 无法识别"),
        (["serve", "--bogus"], "无法识别的参数：--bogus"),
    ],
)
def test_bad_values_are_named_in_chinese(tmp_path: Path, args: list[str], said: str) -> None:
    done = run(tmp_path, *args)
    line = failure_line(done, 2)
    assert said in line
    assert "--help` 查看用法" in line
    assert list(tmp_path.iterdir()) == []  # refused before anything was opened


def test_bad_values_are_named_in_english(tmp_path: Path) -> None:
    done = run(tmp_path, "incidents", "list", "--status", "bogus", RECEIVER_LANGUAGE="en")
    line = failure_line(done, 2)
    assert "argument --status: 'bogus' is not one of firing, recovered, drafted" in line
    assert "see `postmortem-receiver incidents list --help`" in line


# -- an unwritable --out ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("zh", "：路径中有一段不是目录；用 --out 指定一个可写的目录"),
        ("en", ": a part of the path is not a directory; give a writable directory with --out"),
    ],
)
def test_drafts_export_to_an_unwritable_out(
    tmp_path: Path, seeded: str, language: str, said: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    out = blocker / "drafts"
    done = run(
        tmp_path,
        "drafts",
        "export",
        "--all",
        "--out",
        str(out),
        RECEIVER_DATABASE_URL=seeded,
        RECEIVER_LANGUAGE=language,
    )
    line = failure_line(done, 1)
    assert str(out) in line
    assert said in line


# -- a broken pipe ---------------------------------------------------------------------------


def test_incidents_list_into_a_closed_pipe(tmp_path: Path, seeded: str) -> None:
    """`| head -1` that has gone already: the reader's end is closed before anything is
    written, so the first write fails, every time."""
    reader, writer = os.pipe()
    os.close(reader)
    env = {key: value for key, value in os.environ.items() if not key.startswith("RECEIVER_")}
    env.update(PYTHONPATH=str(REPO), RECEIVER_DATABASE_URL=seeded, RECEIVER_LOG_FORMAT="json")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "receiver", "incidents", "list"],
            cwd=tmp_path,
            env=env,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(writer)
    line = failure_line(done, 141)
    assert "输出在打印完之前被关闭（例如 `| head`），其余内容没有打印" in line
    assert "Exception ignored" not in done.stderr


def test_incidents_list_piped_into_head(tmp_path: Path, seeded: str) -> None:
    """The shell's own pipe: whether head is gone before the list is written or not, no
    traceback and no complaint at exit."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("RECEIVER_")}
    env.update(PYTHONPATH=str(REPO), RECEIVER_DATABASE_URL=seeded, RECEIVER_LOG_FORMAT="json")
    done = subprocess.run(
        f"'{sys.executable}' -m receiver incidents list | head -1",
        shell=True,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout == "编号\t状态\t级别\t开始\t服务\t标题\n"
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr


# -- a missing database ------------------------------------------------------------------------


def test_sqlite_file_in_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "no-such-dir" / "receiver.db"
    done = run(tmp_path, "incidents", "list", RECEIVER_DATABASE_URL=sqlite_url(path))
    line = failure_line(done, 1)
    assert f"数据库文件 {path} 不存在；检查 RECEIVER_DATABASE_URL" in line
    assert not path.parent.exists()  # a command that reads creates no database


def test_unreachable_postgresql(tmp_path: Path) -> None:
    url = f"postgresql://someone:hunter2@{LOOPBACK}:{free_port()}/db"
    for args in (["incidents", "show", "1"], ["drafts", "export", "--all"], ["migrate"]):
        done = run(tmp_path, *args, RECEIVER_DATABASE_URL=url, RECEIVER_DATABASE_POOL_TIMEOUT="2s")
        line = failure_line(done, 1)
        assert "无法使用数据库 postgresql://someone:***@127.0.0.1:" in line, args
        assert "连接被拒绝" in line
        assert "检查 RECEIVER_DATABASE_URL，并确认数据库在运行" in line
        assert "hunter2" not in done.stderr


def test_database_not_migrated(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()  # a database file with no schema
    for language, said in (
        ("zh", "的结构版本为 空，本版本需要 "),
        ("en", "has schema revision empty, this version needs "),
    ):
        done = run(
            tmp_path,
            "incidents",
            "list",
            RECEIVER_DATABASE_URL=sqlite_url(path),
            RECEIVER_AUTO_MIGRATE="false",
            RECEIVER_LANGUAGE=language,
        )
        line = failure_line(done, 1)
        assert said in line
        assert line.endswith("`postmortem-receiver migrate`")


def test_an_incident_that_does_not_exist(tmp_path: Path, seeded: str) -> None:
    done = run(tmp_path, "incidents", "show", "99", RECEIVER_DATABASE_URL=seeded)
    line = failure_line(done, 1)
    assert "没有编号为 99 的事故；运行 `postmortem-receiver incidents list`" in line


def test_an_inbox_entry_that_does_not_exist(tmp_path: Path, seeded: str) -> None:
    done = run(tmp_path, "inbox", "show", "999", RECEIVER_DATABASE_URL=seeded)
    line = failure_line(done, 1)
    assert "没有编号为 999 的收件箱条目；用 `postmortem-receiver inbox list`" in line


# -- a bad configuration -----------------------------------------------------------------------


def test_a_bad_value_in_the_environment(tmp_path: Path) -> None:
    done = run(tmp_path, "serve", RECEIVER_LANGUAGE="zh", RECEIVER_MAX_ALERTS="many")
    line = failure_line(done, 2)
    assert line == "postmortem-receiver: 设置 RECEIVER_MAX_ALERTS：应为整数；改正这个值"


def test_a_bad_value_in_the_file_is_named_as_in_the_file(tmp_path: Path) -> None:
    config = tmp_path / "receiver.toml"
    config.write_text('max_alerts = "many"\n', encoding="utf-8")
    for language, said in (
        ("zh", f"设置 max_alerts（在 {config} 中）：应为整数；改正这个值"),
        ("en", f"setting max_alerts (in {config}): Input should be a valid integer"),
    ):
        done = run(tmp_path, "--config", str(config), "serve", RECEIVER_LANGUAGE=language)
        assert said in failure_line(done, 2)


def test_the_file_names_the_language_of_its_errors(tmp_path: Path) -> None:
    config = tmp_path / "receiver.toml"
    config.write_text('language = "en"\ntimezon = "Asia/Shanghai"\n', encoding="utf-8")
    line = failure_line(run(tmp_path, "--config", str(config), "serve"), 2)
    assert f"timezon in the settings file {config} is not a setting; did you mean timezone?" in line


def test_an_unreadable_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    line = failure_line(run(tmp_path, "--config", str(missing), "serve"), 2)
    assert line == (
        f"postmortem-receiver: 读不了设置文件 {missing}：路径不存在；检查 --config 的路径和权限"
    )


def test_a_config_file_that_is_not_toml(tmp_path: Path) -> None:
    config = tmp_path / "receiver.toml"
    config.write_text("listen = [\n", encoding="utf-8")
    line = failure_line(run(tmp_path, "--config", str(config), "migrate"), 2)
    assert f"设置文件 {config} 不是有效的 TOML：" in line
    assert line.endswith("；改正后再试")
    assert list(tmp_path.iterdir()) == [config]


def test_serve_with_a_broken_template(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "postmortem.zh.md.j2").write_text("{{ v.title ) }}\n", encoding="utf-8")
    done = run(
        tmp_path,
        "serve",
        RECEIVER_TEMPLATE_DIR=str(templates),
        RECEIVER_LISTEN=f"{LOOPBACK}:0",
        RECEIVER_DATABASE_URL=sqlite_url(tmp_path / "r.db"),
    )
    line = failure_line(done, 1)
    assert "草稿模板有误：TemplateSyntaxError: unexpected ')'" in line
    assert "`postmortem-receiver check-config` 会逐一列出问题" in line
