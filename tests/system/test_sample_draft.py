"""Golden drafts: scripts/make_example.py, run as a process, writes examples/ byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize("language", ["zh", "en"])
def test_sample_draft_is_what_the_code_renders(tmp_path: Path, language: str) -> None:
    """Golden test: fixed clock and zone, real captures; regenerate with the script."""
    out = tmp_path / "draft.md"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "make_example.py"),
            "--language",
            language,
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    golden = REPO / "examples" / f"sample-draft.{language}.md"
    assert out.read_text(encoding="utf-8") == golden.read_text(encoding="utf-8"), (
        "the draft changed: review `git diff` after `python scripts/make_example.py`"
    )
