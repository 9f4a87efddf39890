"""What `/readyz` verifies beyond the settings' own validation (check-config's own checks,
which must not create anything, are in receiver/cli/config_check.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path


def drafts_dir_problem(directory: Path) -> str | None:
    """None when a draft can be written there (creating the directory if needed)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-", delete=True):
            pass
    except OSError as exc:
        return f"drafts directory {directory} is not writable: {exc.strerror or exc}"
    return None
