"""Draft files: safe names and atomic writes into the drafts directory."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from receiver.domain.moments import in_zone

_SLUG_MAX = 60


def slugify(*parts: str) -> str:
    """ASCII letters, digits and dashes only: no separator, dot or control character
    from a label can reach the file system."""
    text = "-".join(part for part in parts if part)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return text[:_SLUG_MAX].rstrip("-") or "incident"


def draft_file_name(
    incident_id: int, started_at: datetime, zone: ZoneInfo, service: str, alertname: str
) -> str:
    day = in_zone(started_at, zone).strftime("%Y-%m-%d")
    return f"{day}-{incident_id}-{slugify(service, alertname)}.md"


def write_atomically(directory: Path, file_name: str, content: str) -> Path:
    """Write via a temporary file and rename, so readers never see half a draft."""
    if Path(file_name).name != file_name or file_name.startswith("."):
        raise ValueError(f"unsafe draft file name {file_name!r}")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / file_name
    fd, temp_name = tempfile.mkstemp(dir=directory, prefix=".draft-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def drop_other_drafts(directory: Path, incident_id: int, keep: str) -> list[Path]:
    """Remove this incident's draft files under any other name: a new time zone (the
    date in the name) or service must not leave a second file for the same incident.
    Called once the file under the new name is complete, so there is always one."""
    own = re.compile(rf"\d{{4}}-\d{{2}}-\d{{2}}-{incident_id}-[a-z0-9-]+\.md")
    removed = []
    for path in directory.glob(f"*-{incident_id}-*.md"):
        if path.name != keep and own.fullmatch(path.name):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
