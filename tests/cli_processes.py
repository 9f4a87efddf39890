"""The command line as a process, as a person runs it: in a directory of its own, with
only the RECEIVER_* variables a test gives, and what it printed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from receiver.alertmanager.webhook import Webhook
from receiver.config import load_settings
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.usecases.service import IncidentService
from tests.conftest import REPO, Clock, capture, capture_text

PROG = "postmortem-receiver"


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m receiver ARGS` in `cwd`; RECEIVER_* variables only from `env`."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("RECEIVER_")}
    base.update(PYTHONPATH=str(REPO), RECEIVER_LOG_FORMAT="json", **env)
    return subprocess.run(
        [sys.executable, "-m", "receiver", *args],
        cwd=cwd,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def failure_line(done: subprocess.CompletedProcess[str], exit_code: int) -> str:
    """The one line the command said what went wrong in: no traceback, the exit code
    expected, and nothing else it wrote to people (its JSON log lines aside)."""
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == exit_code, (done.returncode, done.stderr)
    said = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert len(said) == 1, said
    assert said[0].startswith(f"{PROG}: "), said
    return said[0]


async def seed(database_url: str, drafts: Path) -> None:
    """Two incidents with drafts: #1 payments (warning → P2), #2 checkout (critical → P1),
    both started 2026-11-26 around 19:11 UTC."""
    settings = load_settings(database_url=database_url, drafts_dir=drafts)
    database = open_configured_database(settings)
    try:
        await database.migrate()
        clock = Clock(datetime(2026, 11, 26, 19, 12, 0, tzinfo=UTC))
        service = IncidentService(database, settings, DraftRenderer(), clock=clock)
        for name in ("firing_group_3", "resolved_group_3", "firing_single", "resolved_single"):
            await service.ingest_webhook(Webhook.parse(capture(name)), capture_text(name))
        await service.close()
    finally:
        await database.close()
