"""The benchmark still runs (seconds, no timings asserted): it must never rot."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

from tests.conftest import REPO


def test_benchmark_smoke_run_prints_every_figure() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench.py"), "--smoke", "--backends", "sqlite"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for figure in (
        "bare aiohttp",
        "receiver sqlite",
        "1000-alert webhook, s to 2xx",
        "until all drafted",
        "storm peak RSS, MiB",
        "draft render, 5000 alerts",
    ):
        assert figure in run.stdout, figure
    if shutil.which("wrk"):  # the accept path's figures need a native load generator
        for figure in ("sqlite firing only", "sqlite mixed (half resolve)", "until applied"):
            assert figure in run.stdout, figure


def test_storm_probe_runs_a_round_and_prints_its_figures() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "storm_probe.py"), "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^round 0: p50 [0-9.]+ p90 [0-9.]+ p99 [0-9.]+ ms; ", run.stdout, re.M), (
        run.stdout
    )
    assert "s in all" in run.stdout
