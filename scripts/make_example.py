#!/usr/bin/env python3
"""Regenerate examples/sample-draft.zh.md from real Alertmanager captures.

    python scripts/make_example.py [--out examples/sample-draft.zh.md] [--language zh]

Feeds tests/fixtures/firing_group_3.json and resolved_group_3.json through the real
service into a throwaway SQLite database, with the clock set one second after each
alert change (as Alertmanager would have delivered them), times in Asia/Shanghai.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from receiver.alertmanager.webhook import Webhook
from receiver.config import load_settings
from receiver.postmortem.render import DraftRenderer
from receiver.store import open_configured_database
from receiver.usecases.service import IncidentService

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


async def render(language: str) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        settings = load_settings(
            database_url=f"sqlite:///{scratch}/example.db",
            drafts_dir="",
            timezone="Asia/Shanghai",
            language=language,
            public_url="https://postmortem.example.com",
        )
        database = open_configured_database(settings)
        await database.migrate()
        now = [datetime.fromtimestamp(0).astimezone()]
        service = IncidentService(
            database, settings, DraftRenderer(settings.template_dir), clock=lambda: now[0]
        )
        try:
            incident_id = 0
            for name in ("firing_group_3", "resolved_group_3"):
                text = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
                hook = Webhook.parse(json.loads(text))
                moments = [a.ends_at or a.starts_at for a in hook.alerts]
                now[0] = max(moments) + timedelta(seconds=1)
                incident_id = (await service.ingest_webhook(hook, text)).incident_id
            return (await service.queries.current_draft(incident_id)).markdown
        finally:
            await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="zh", choices=["zh", "en"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or ROOT / "examples" / f"sample-draft.{args.language}.md"
    out.write_text(asyncio.run(render(args.language)), encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main()
