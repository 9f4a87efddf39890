"""Golden drafts: scripts/make_example.py, run as a process, writes examples/ byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("scenario", ["sample", "silenced", "changes", "recurring", "slo"])
def test_example_draft_is_what_the_code_renders(
    tmp_path: Path, scenario: str, language: str
) -> None:
    """Golden test: fixed clock and zone, real captures; regenerate with the script.

    `sample`: Alertmanager sends the resolve. `silenced`: the alerts are silenced, people
    report what they did, and reconciliation finds the alerts gone. `changes`: change
    feeds tell of deploys before the alerts and a rollback during them. `recurring`: the
    same group again twelve days later, linking the first (历史同类事故). `slo`: the
    `silenced` story for a service with an SLO, its impact window and budget burned
    measured.
    """
    out = tmp_path / "draft.md"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "make_example.py"),
            "--scenario",
            scenario,
            "--language",
            language,
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    golden = REPO / "examples" / f"{scenario}-draft.{language}.md"
    assert out.read_text(encoding="utf-8") == golden.read_text(encoding="utf-8"), (
        "the draft changed: review `git diff` after "
        f"`python scripts/make_example.py --scenario {scenario} --language {language}`"
    )
