"""`drafts export` as a command."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from receiver.config import Settings
from tests.conftest import REPO, Clock, capture, capture_text


async def test_drafts_export_command(settings: Settings, tmp_path: Path, clock: Clock) -> None:
    from receiver.alertmanager.webhook import Webhook
    from receiver.postmortem.render import DraftRenderer
    from receiver.store import open_configured_database
    from receiver.usecases.service import IncidentService

    database = open_configured_database(settings)
    await database.migrate()
    service = IncidentService(database, settings, DraftRenderer(), clock=clock)
    for name in ("firing_group_3", "resolved_group_3", "firing_single", "resolved_single"):
        await service.ingest_webhook(Webhook.parse(capture(name)), capture_text(name))
    expected = {
        d.file_name: d.markdown
        for d in [await service.queries.current_draft(1), await service.queries.current_draft(2)]
    }
    await database.close()
    out = tmp_path / "export"
    env = {"RECEIVER_DATABASE_URL": settings.database_url, "PATH": "/usr/bin:/bin"}
    for args in (["--all"], ["--id", "2"]):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "receiver",
            "drafts",
            "export",
            *args,
            "--out",
            str(out),
            env=env,
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, stderr
    assert {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()} == expected
